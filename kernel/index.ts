/**
 * `paligemma-ts/kernel`: cell-friendly displays for the tslab kernel.
 *
 *     import { show, liveTraining, plot } from "paligemma-ts/kernel";
 *     await show({ image: "cat.jpg", prefix: "detect cat", suffix });
 *
 * This entry has no top-level await, so tslab's CommonJS cells can `require()` it (Node ≥ 20.19).
 */
export { show, showArguments, toBundle, type ShowOptions } from "./show.js";
export { liveTraining, LiveTraining, type LiveTrainingOptions } from "./live.js";
export { liveProgress, type LiveProgress, type LiveProgressOptions } from "./progress.js";
export { plot, plotBundle, type PlotSeries } from "./plot.js";
export { sendBundle, setTransport, inKernel, LiveOutput, newDisplayId, type Transport, type SendOptions } from "./transport.js";
export {
  MIME,
  diffJson,
  diffJsonMany,
  annotationsBundle,
  renderAnnotationsPng,
  buildAnnotations,
  TrainingProgress,
  TerminalProgress,
  renderProgressLine,
  type MimeBundle,
  type DetectionsLike,
  type AnnotateOptions,
} from "../src/display/index.js";

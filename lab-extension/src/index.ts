/**
 * jupyterlab-paligemma: MIME renderers for paligemma-ts displays (one per vendor MIME type of
 * src/display/protocol.ts). Each renderer accepts the payload as an object or as JSON text, renders untrusted
 * strings as text only, and cleans up listeners and plots in `dispose`.
 *
 * After jupyterlab/extension-examples `mimerenderer` and jupyterlab `packages/vega5-extension`.
 */
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { Widget } from "@lumino/widgets";
import { MIME } from "../../src/display/protocol";
import type { PayloadByMime, VendorMime } from "../../src/display/protocol";
import { el, readPayload } from "./dom";
import { AnnotationsView } from "./annotations";
import { JsonDiffView } from "./jsondiff";
import { TrainingView } from "./training";
import { ReportView } from "./report";
import { DatasetView } from "./dataset";
import { ProgressView } from "./progress";

interface View<T> {
  readonly node: HTMLElement;
  render(payload: T): void | Promise<void>;
  dispose(): void;
}

/** One output's renderer: parses the payload and hands it to its view (kept across updates of the output). */
class PaligemmaRenderer<M extends VendorMime> extends Widget implements IRenderMime.IRenderer {
  private readonly view: View<PayloadByMime[M]>;

  constructor(
    private readonly mimeType: M,
    makeView: () => View<PayloadByMime[M]>,
  ) {
    super();
    this.addClass("jp-Paligemma");
    this.view = makeView();
    this.node.append(this.view.node);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    let payload: PayloadByMime[M];
    try {
      payload = readPayload<PayloadByMime[M]>(model.data[this.mimeType]);
      if ((payload as { version?: unknown }).version !== 1) throw new Error(`unsupported payload version ${String((payload as { version?: unknown }).version)} (this extension reads v1)`);
      // Every payload names its view; one sent under another view's MIME type is an error, not a guess.
      const view = (payload as { view?: unknown }).view;
      if (view !== undefined && MIME[view as keyof typeof MIME] !== this.mimeType) throw new Error(`payload of view ${JSON.stringify(view)} sent as ${this.mimeType}`);
    } catch (e) {
      this.node.replaceChildren(el("pre", { class: "jp-Paligemma-error" }, `paligemma-ts: cannot render ${this.mimeType}: ${(e as Error).message}`));
      return;
    }
    await this.view.render(payload);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.view.dispose();
    super.dispose();
  }
}

function extension<M extends VendorMime>(name: string, mimeType: M, makeView: () => View<PayloadByMime[M]>): IRenderMime.IExtension {
  return {
    id: `jupyterlab-paligemma:${name}`,
    description: `Renders ${mimeType}`,
    rendererFactory: {
      safe: true, // no script, no HTML from the payload
      mimeTypes: [mimeType],
      defaultRank: 0,
      createRenderer: () => new PaligemmaRenderer(mimeType, makeView),
    },
    rank: 0,
    dataType: "json",
  };
}

const extensions: IRenderMime.IExtension[] = [
  extension("annotations", MIME.annotations, () => new AnnotationsView()),
  extension("jsondiff", MIME.jsonDiff, () => new JsonDiffView()),
  extension("training", MIME.training, () => new TrainingView()),
  extension("report", MIME.report, () => new ReportView()),
  extension("dataset", MIME.dataset, () => new DatasetView()),
  extension("progress", MIME.progress, () => new ProgressView()),
];

export default extensions;

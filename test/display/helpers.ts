export { MIME, type AnnotationsPayload } from "../../src/display/protocol.js";
export { annotationsBundle, buildAnnotations } from "../../src/display/annotations.js";
export { hexToRgb as hexToRgbForTest } from "../../src/display/palette.js";

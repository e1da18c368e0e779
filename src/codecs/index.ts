/** `<loc>` / `<seg>` codecs and Detections: re-exports only. */
export {
  LOC_BINS, LOC_MAX, OBJECT_SEPARATOR, encodeLocValue, decodeLocValue, encodeBoxLocs, decodeBoxLocs, locToken, segToken,
  formatLocObject, formatLocObjects, detectionPrefix, parseLocText, normalizeLabel,
  type ImageSize, type LocBox, type LocObject,
} from "./loc.js";
export { Detections, DetectionsError, type DetectionsInit, type DetectionMasks, type FromPaligemmaOptions } from "./detections.js";

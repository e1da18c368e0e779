/** `<loc>` / `<seg>` codecs, Detections and the total JSON parser: re-exports only. */
export {
  LOC_BINS, LOC_MAX, OBJECT_SEPARATOR, encodeLocValue, decodeLocValue, encodeBoxLocs, decodeBoxLocs, locToken, segToken,
  formatLocObject, formatLocObjects, detectionPrefix, parseLocText, normalizeLabel,
  type ImageSize, type LocBox, type LocObject,
} from "./loc.js";
export { Detections, DetectionsError, type DetectionsInit, type DetectionMasks, type FromPaligemmaOptions } from "./detections.js";
export { parseJson, pythonStr, pythonFloatRepr, type JsonValue, type JsonParse } from "./json.js";

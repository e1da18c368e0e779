/** Quantized storage for frozen base weights (QLoRA): NF4 / int8 blockwise, bit-exact with bitsandbytes. Re-exports only. */
export { NF4_CODE, DYNAMIC_CODE } from "./codebooks.js";
export {
  quantizeNf4,
  dequantizeNf4,
  quantizeInt8,
  dequantizeInt8,
  doubleQuantizeAbsmax,
  dequantizeAbsmax,
  type QuantizedAbsmax,
} from "./blockwise.js";
export {
  uploadQuantized,
  dequantizeOnDevice,
  disposeQuantized,
  disposeQuantLookupTables,
  type QuantType,
  type HostQuantized,
  type DeviceQuantized,
} from "./device.js";
export { QuantLinear, quantizeHost, type QuantOptions } from "./quant-linear.js";
export { dequantizeViaHost, decodeHost } from "./host-decode.js";
export { quantizeModel, disposeQuantizedLayers, type QuantizeModelOptions, type QuantizeReport, type QuantizableModel } from "./quantize-model.js";

// Second module of the carried bundles: no node_modules on the GPU machine, so tfjs-backend-webgpu is bundled and
// registered on the bundle's own engine here, with the library's fixes; selection then finds it registered.
import * as webgpuBackend from "@tensorflow/tfjs-backend-webgpu";
import { fixWebGpuBackend } from "../../dist/src/backend/webgpu-fixes.js";

if (process.env.PALIGEMMA_BACKEND === "webgpu") fixWebGpuBackend(webgpuBackend);

// First module of the carried bundles (bench/gpu/pack.sh): Dawn's navigator.gpu before the WebGPU backend is imported
// (it registers only when navigator.gpu exists). Only with PALIGEMMA_BACKEND=webgpu.
import { installDawnNavigator } from "../../dist/src/backend/dawn.js";

if (process.env.PALIGEMMA_BACKEND === "webgpu") await installDawnNavigator();

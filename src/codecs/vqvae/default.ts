/**
 * Which `<seg>` VQ-VAE a caller gets when it names none: ours, `models/vqvae-synth-64/vae.npz` in the package
 * (trained on synthetic masks by scripts/vqvae/train.ts; its card is models/vqvae-synth-64/README.md). The real
 * big_vision `vae-oid.npz` loads through the same `VqVae.load` when a user has it.
 *
 * @example
 * const vae = await loadSegVae();              // ours
 * const real = await loadSegVae("vae-oid.npz"); // big_vision's
 */
import { join } from "node:path";
import { packageRoot } from "../../util/package-root.js";
import { VqVae, VqVaeError } from "./model.js";
import { NpzError } from "./npz.js";

export const DEFAULT_SEG_VAE = "vqvae-synth-64";

/** `<package>/models/vqvae-synth-64/vae.npz`. */
export function defaultSegVaePath(): string {
  return join(packageRoot(), "models", DEFAULT_SEG_VAE, "vae.npz");
}

/**
 * Loads the VQ-VAE at `path` (default: ours). Any failure (missing file, not an .npz, wrong tensors) is a
 * `VqVaeError` that names the file, says what is wrong, and what a valid file is.
 */
export async function loadSegVae(path: string = defaultSegVaePath()): Promise<VqVae> {
  try {
    return await VqVae.load(path);
  } catch (e) {
    if (e instanceof VqVaeError) throw e;
    if (e instanceof NpzError) {
      throw new VqVaeError(`${e.message}. A <seg> VQ-VAE is an .npz with vae-oid's tensor names and shapes (big_vision's vae-oid.npz, or ours: ${defaultSegVaePath()})`);
    }
    throw e;
  }
}

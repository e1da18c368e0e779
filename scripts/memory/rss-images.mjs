#!/usr/bin/env node
/**
 * RSS over repeated image decoding through the processor (sharp/libvips): `node --expose-gc
 * scripts/memory/rss-images.mjs <n> [cache]` where cache = default | off. Part of the issue 13.12 bisection.
 */
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { readdirSync } from "node:fs";
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const sharp = (await import("sharp")).default;
const { loadPixelValues, pixelLut } = await import(join(REPO, "dist", "src", "io", "images.js"));
const [nArg = "200", cache = "default"] = process.argv.slice(2);
if (cache === "off") sharp.cache(false);
const dir = join(REPO, "test", "fixtures", "processor", "images");
const images = readdirSync(dir).filter((f) => /\.(png|jpe?g|webp)$/.test(f)).map((f) => join(dir, f));
const mb = (x) => (x / 1048576).toFixed(1);
const report = (i) => {
  global.gc?.();
  const m = process.memoryUsage();
  console.log(`${String(i).padStart(5)} rss ${mb(m.rss)} heap ${mb(m.heapUsed)} ext ${mb(m.external)} sharp cache ${JSON.stringify(sharp.cache())}`);
};
const lut = pixelLut({ rescaleFactor: 1 / 255, imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5] });
for (let i = 0; i <= Number(nArg); i++) {
  await loadPixelValues(images, { width: 224, height: 224, resample: "bicubic", lut });
  if (i % Math.max(1, Math.floor(Number(nArg) / 5)) === 0) report(i);
}

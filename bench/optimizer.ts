/**
 * The parts of a training step outside fwd+bwd, path against path in one process, on `bench/configs/small`
 * (106.6M parameters): the AdamW update (op by op vs fused, `src/train/adamw-wasm.ts`), the global gradient norm
 * (Square + Sum vs the backend's one-pass kernel) and one forward's NF4 weight decode for QLoRA (JS loop, WASM SIMD
 * with a copy out, WASM SIMD lending its memory, the backend's kernel). Gradients are made by backend ops, as
 * backprop makes them. Medians of process CPU time (steadier than wall time on a shared machine) and best wall time.
 *
 *     node dist/bench/optimizer.js --backend tensorflow --iters 3
 */
import { parseArgs } from "node:util";
import { tf } from "../src/tf.js";
import type { BackendName } from "../src/backend/select.js";
import { activeTraits } from "../src/backend/traits.js";
import { AdamW } from "../src/train/adamw.js";
import { quantizeModel, QuantLinear } from "../src/quant/index.js";
import { decodeHost, dequantizeViaHost } from "../src/quant/host-decode.js";
import { dequantizeNf4WithKernel } from "../src/quant/kernel-decode.js";
import { loadSmall } from "./inputs.js";
import { median } from "./measure.js";

interface Timing {
  what: string;
  wallMs: number;
  cpuMs: number;
}

function timeIt(what: string, iters: number, work: () => void): Timing {
  work(); // warm-up
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < iters; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    work();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { what, wallMs: Math.min(...wall), cpuMs: median(cpu) };
}

/** A TF.js op reads the tensor (so a lazily uploaded one is really made), then it is freed. */
function consume(t: tf.Tensor): void {
  tf.tidy(() => tf.slice(tf.reshape(t, [-1]), [0], [1]).dataSync());
  t.dispose();
}

export async function benchOptimizerParts(o: { backend?: BackendName; iters?: number } = {}): Promise<Timing[]> {
  const iters = o.iters ?? 3;
  const bm = await loadSmall(o.backend);
  const params = bm.model.trainableParameters();
  const grads = new Map([...params].map(([name, v], i) => [name, tf.tidy(() => tf.add(tf.randomNormal(v.shape, 0, 1e-3, "float32", i), 0))]));
  const rows: Timing[] = [];
  for (const kernel of ["ops", "fused"] as const) {
    let opt: AdamW;
    try {
      opt = new AdamW(params, { weightDecay: 0.01, kernel });
    } catch (e) {
      console.error(`  AdamW ${kernel}: ${(e as Error).message}`);
      continue;
    }
    rows.push(timeIt(`AdamW step, ${kernel} (${params.size} tensors)`, iters, () => opt.step(grads, 1e-5, 0.5)));
    opt.dispose();
  }
  const sumOfSquares = activeTraits().sumOfSquaresKernel;
  const norm = (one: (g: tf.Tensor) => tf.Scalar) => tf.tidy(() => tf.addN([...grads.values()].map(one)).dataSync());
  rows.push(timeIt("gradient norm, Square + Sum", iters, () => norm((g) => tf.sum(tf.square(g)))));
  if (sumOfSquares) rows.push(timeIt(`gradient norm, ${sumOfSquares}`, iters, () => norm((g) => tf.engine().runKernel(sumOfSquares, { x: g }) as tf.Scalar)));
  tf.dispose([...grads.values()]);

  quantizeModel(bm.model, { bits: 4, doubleQuant: true });
  const nf4 = bm.model.namedLinears().map((s) => s.get()).filter((l): l is QuantLinear => l instanceof QuantLinear && l.quantType === "nf4");
  const values = nf4.reduce((n, q) => n + q.numel, 0);
  const label = `NF4 decode, ${nf4.length} linears, ${(values / 1e6).toFixed(1)}M values`;
  rows.push(timeIt(`${label}: JS loop`, iters, () => nf4.forEach((q) => consume(tf.tensor2d(decodeHost(q.weight, { simd: false }), q.weight.shape)))));
  rows.push(timeIt(`${label}: WASM SIMD, copied out`, iters, () => nf4.forEach((q) => consume(tf.tensor2d(decodeHost(q.weight), q.weight.shape)))));
  rows.push(timeIt(`${label}: WASM SIMD, memory lent`, iters, () => nf4.forEach((q) => consume(dequantizeViaHost(q.weight, "outIn", true)))));
  const kernel = activeTraits().nf4DequantKernel;
  if (kernel) rows.push(timeIt(`${label}: ${kernel}`, iters, () => nf4.forEach((q) => consume(tf.tidy(() => dequantizeNf4WithKernel(q.weight, kernel))))));
  bm.model.dispose();
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { backend: { type: "string" }, iters: { type: "string", default: "3" } } });
  const rows = await benchOptimizerParts({ backend: values.backend as BackendName | undefined, iters: Number(values.iters) });
  const { loadavg } = await import("node:os");
  console.log(`backend ${tf.getBackend()}, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  for (const r of rows) console.log(`${r.what.padEnd(64)} ${r.cpuMs.toFixed(0).padStart(6)} ms CPU (median) ${r.wallMs.toFixed(0).padStart(6)} ms wall (best)`);
}

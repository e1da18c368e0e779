/**
 * The activations a config may name (`hidden_act` / `hidden_activation`) against PyTorch 2.15:
 *   x = torch.tensor([-3., -1., -.5, 0., .3, 1., 2.5], requires_grad=True)
 *   y = torch.nn.functional.gelu(x); y.sum().backward()             # "gelu": exact, erf
 *   torch.nn.functional.gelu(x, approximate="tanh")                  # "gelu_pytorch_tanh"
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { activation } from "../../src/ops/elementwise.js";
import { ACTIVATIONS } from "../../src/config/index.js";

const X = [-3, -1, -0.5, 0, 0.3, 1, 2.5];
const GELU = [-0.004050225019454956, -0.15865525603294373, -0.1542687714099884, 0, 0.1853734403848648, 0.8413447141647339, 2.48447585105896];
const GELU_GRAD = [-0.011945605278015137, -0.08331543207168579, 0.1325049102306366, 0.5, 0.7323277592658997, 1.083315372467041, 1.0376110076904297];
const GELU_TANH = [-0.0036374330520629883, -0.15880799293518066, -0.1542859971523285, 0, 0.18537093698978424, 0.8411920070648193, 2.4849157333374023];

const close = (got: ArrayLike<number>, want: number[], tol: number, what: string) =>
  want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) <= tol, `${what}[${i}]: ${got[i]} vs ${w}`));

test("gelu (exact) and gelu_pytorch_tanh match PyTorch, and differ from each other", async () => {
  await tf.setBackend("cpu");
  const x = tf.tensor1d(X);
  const exact = activation("gelu")(x);
  const tanh = activation("gelu_pytorch_tanh")(x);
  close(exact.dataSync(), GELU, 1e-6, "gelu");
  close(tanh.dataSync(), GELU_TANH, 1e-6, "gelu_pytorch_tanh");
  assert.ok(Math.abs(exact.dataSync()[0]! - tanh.dataSync()[0]!) > 4e-4); // x = -3: 4.1e-4 apart
  tf.dispose([x, exact, tanh]);
});

test("gelu's gradient is Φ(x) + x·φ(x), as autograd gives it", async () => {
  await tf.setBackend("cpu");
  const x = tf.tensor1d(X);
  const g = tf.grad((v: tf.Tensor) => tf.sum(activation("gelu")(v)))(x);
  close(g.dataSync(), GELU_GRAD, 1e-6, "d gelu / dx");
  tf.dispose([x, g]);
});

test("every activation a config accepts has an op", () => {
  for (const name of ACTIVATIONS) assert.equal(typeof activation(name), "function", name);
});

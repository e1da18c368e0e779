/**
 * Which curves the training dashboard draws, decided once for the static fallback (views.ts) and the JupyterLab
 * view (lab-extension/src/training.ts): every logged scalar and every evaluation metric's history. Losses (train
 * and eval) share one chart; every other scalar gets its own. Imports nothing but protocol types, so the
 * extension compiles it as is.
 *
 * @example
 * dashboardCharts(payload).map((c) => c.title); // ["loss", "learningRate", "gradNorm", "eval_f1"]
 */
import type { SeriesPoint, TrainingPayload } from "./protocol.js";

export interface DashboardChart {
  title: string;
  series: { name: string; points: SeriesPoint[] }[];
}

const isLoss = (name: string) => /loss/i.test(name);

export function dashboardCharts(p: Pick<TrainingPayload, "series" | "evaluations">): DashboardChart[] {
  const evalNames = [...new Set(p.evaluations.flatMap((e) => Object.keys(e.metrics)))];
  const evalSeries = evalNames.map((name) => ({
    // Trainer metrics already say "eval_…"; hand-made ones ("f1") get the prefix so they read as evaluations.
    name: /^eval[_/]/.test(name) ? name : `eval_${name}`,
    points: p.evaluations.filter((e) => typeof e.metrics[name] === "number").map((e) => ({ step: e.step, value: e.metrics[name] })),
  }));
  const charts: DashboardChart[] = [];
  const losses = [...p.series.filter((s) => isLoss(s.name)), ...evalSeries.filter((s) => isLoss(s.name))];
  if (losses.length) charts.push({ title: "loss", series: losses });
  for (const s of p.series) if (!isLoss(s.name)) charts.push({ title: s.name, series: [s] });
  for (const s of evalSeries) if (!isLoss(s.name)) charts.push({ title: s.name, series: [s] });
  return charts;
}

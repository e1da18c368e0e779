/**
 * Quick line plots in a cell: inline SVG (no CDN, no script) with a text/plain summary.
 *
 * @example
 * import { plot } from "paligemma-ts/kernel";
 * plot({ loss: [2.3, 1.9, 1.7] }, { title: "loss" });
 */
import { lineChartSvg, formatNumber, type ChartOptions } from "../src/display/index.js";
import { sendBundle } from "./transport.js";

/** Named series: values (x = index) or `[x, y]` pairs. */
export type PlotSeries = Record<string, readonly number[] | readonly (readonly [number, number])[]>;

/** The bundle `plot` sends. */
export function plotBundle(series: PlotSeries, options: ChartOptions = {}): { data: Record<string, string>; metadata: Record<string, unknown> } {
  const list = Object.entries(series).map(([name, v]) => ({
    name,
    points: (v as readonly (number | readonly [number, number])[]).map((p, i) => (typeof p === "number" ? { step: i, value: p } : { step: p[0], value: p[1] })),
  }));
  const text = list.map((s) => `${s.name}: ${s.points.length} points, last ${formatNumber(s.points.at(-1)?.value)}`).join("\n");
  return { data: { "text/html": lineChartSvg(list, { width: 480, height: 240, ...options }), "text/plain": text }, metadata: {} };
}

/** Draws the series as one output. */
export function plot(series: PlotSeries, options: ChartOptions = {}): void {
  sendBundle(plotBundle(series, options));
}

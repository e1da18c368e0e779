/**
 * Inline SVG line charts for the static fallbacks (training curves): round ticks and grid lines on both axes, a
 * sane range for constant series, optional log y; no script, no CDN, escaped names. The
 * extension draws the same series with plotly; this is what nbconvert, GitHub and plain JupyterLab show.
 *
 * @example
 * lineChartSvg([{ name: "loss", points: [{ step: 1, value: 2.3 }, { step: 2, value: 1.9 }] }], { title: "loss" });
 */
import type { SeriesPoint } from "./protocol.js";
import { escapeHtml, formatNumber } from "./html.js";
import { DEFAULT_PALETTE } from "./palette.js";

export interface ChartOptions {
  title?: string;
  width?: number;
  height?: number;
  /** Logarithmic y axis (all values > 0). Default false. */
  logY?: boolean;
}

/** About `count` round tick values covering [lo, hi] (1, 2 or 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi)) || hi <= lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  // The 1/2/5 step whose tick count is nearest `count`.
  const step = [1, 2, 5, 10].map((m) => m * mag).reduce((a, b) => (Math.abs((hi - lo) / b - count) < Math.abs((hi - lo) / a - count) ? b : a));
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

/**
 * The y range to draw: the data's, or, for a constant series, the value ± 10 % of itself (± 1 for 0), so a
 * constant learning rate of 1e-4 spans 0.9e-4…1.1e-4 and not −1…1.
 */
export function yRange(values: readonly number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi === lo) {
    const d = Math.abs(lo) * 0.1 || 1;
    [lo, hi] = [lo - d, hi + d];
  }
  return [lo, hi];
}

/** Exponential moving average with TensorBoard's debiasing (`weight` 0: the raw values). */
export function smoothSeries(values: readonly number[], weight: number): number[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing: expected a weight in [0, 1); got ${weight}`);
  let last = 0;
  return values.map((v, i) => {
    last = last * weight + (1 - weight) * v;
    return last / (1 - weight ** (i + 1));
  });
}

/** Series → `<svg>` markup with axes, round ticks and grid lines on both axes, and one polyline per series. */
export function lineChartSvg(series: readonly { name: string; points: readonly SeriesPoint[] }[], options: ChartOptions = {}): string {
  const W = options.width ?? 360;
  const H = options.height ?? 180;
  const m = { l: 52, r: 10, t: options.title ? 22 : 8, b: 28 };
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.value) && Number.isFinite(p.step));
  const logY = options.logY === true && pts.every((p) => p.value > 0);
  const fy = (v: number) => (logY ? Math.log10(v) : v);
  const title = options.title ? `<text x="${W / 2}" y="15" text-anchor="middle" font-size="12" font-weight="bold">${escapeHtml(options.title)}${logY ? " (log)" : ""}</text>` : "";
  const open = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10" role="img" aria-label="${escapeHtml(options.title ?? "chart")}">`;
  if (pts.length === 0) return `${open}${title}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">no data yet</text></svg>`;
  let x0 = Math.min(...pts.map((p) => p.step));
  let x1 = Math.max(...pts.map((p) => p.step));
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  const [y0, y1] = yRange(pts.map((p) => fy(p.value)));
  const X = (s: number) => m.l + ((s - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Yf = (f: number) => H - m.b - ((f - y0) / (y1 - y0)) * (H - m.t - m.b);
  const Y = (v: number) => Yf(fy(v));
  const lines = series.map((s, i) => {
    const color = DEFAULT_PALETTE[(i * 3 + 1) % DEFAULT_PALETTE.length];
    const good = s.points.filter((p) => Number.isFinite(p.value) && (!logY || p.value > 0));
    const d = good.map((p) => `${X(p.step).toFixed(1)},${Y(p.value).toFixed(1)}`).join(" ");
    const dots = good.length <= 30 ? good.map((p) => `<circle cx="${X(p.step).toFixed(1)}" cy="${Y(p.value).toFixed(1)}" r="2" fill="${color}"/>`).join("") : "";
    return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${d}"><title>${escapeHtml(s.name)}</title></polyline>${dots}` +
      (series.length > 1 ? `<text x="${W - m.r - 4}" y="${m.t + 12 + i * 12}" text-anchor="end" fill="${color}">${escapeHtml(s.name)}</text>` : "");
  });
  // Ticks: round values (in log10 units on a log axis: powers of ten and their 2×/5× steps as exponents).
  const yt = niceTicks(y0, y1, 4);
  const xt = niceTicks(x0, x1, 5).filter((v) => Number.isInteger(v));
  const ylab = (v: number) => formatNumber(logY ? 10 ** v : v, 3);
  const grid = yt.map((v) => `<line x1="${m.l}" x2="${W - m.r}" y1="${Yf(v).toFixed(1)}" y2="${Yf(v).toFixed(1)}" stroke="#8883"/><text x="${m.l - 4}" y="${(Yf(v) + 3).toFixed(1)}" text-anchor="end">${ylab(v)}</text>`).join("") +
    xt.map((v) => `<line x1="${X(v).toFixed(1)}" x2="${X(v).toFixed(1)}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#888"/><text x="${X(v).toFixed(1)}" y="${H - m.b + 14}" text-anchor="middle">${formatNumber(v)}</text>`).join("");
  const axes = `<path d="M${m.l},${m.t} V${H - m.b} H${W - m.r}" fill="none" stroke="#888"/>${grid}<text x="${W - m.r}" y="${H - 2}" text-anchor="end">step</text>`;
  return `${open}${title}${axes}${lines.join("")}</svg>`;
}

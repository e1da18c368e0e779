/**
 * Inline SVG line charts for the static fallbacks (training curves): no script, no CDN, escaped names. The
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

/** Series → `<svg>` markup with axes, min/max tick labels and one polyline per series. */
export function lineChartSvg(series: readonly { name: string; points: readonly SeriesPoint[] }[], options: ChartOptions = {}): string {
  const W = options.width ?? 360;
  const H = options.height ?? 180;
  const m = { l: 48, r: 10, t: options.title ? 22 : 8, b: 24 };
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.value) && Number.isFinite(p.step));
  const logY = options.logY === true && pts.every((p) => p.value > 0);
  const fy = (v: number) => (logY ? Math.log10(v) : v);
  const title = options.title ? `<text x="${W / 2}" y="15" text-anchor="middle" font-size="12" font-weight="bold">${escapeHtml(options.title)}</text>` : "";
  const open = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10" role="img" aria-label="${escapeHtml(options.title ?? "chart")}">`;
  if (pts.length === 0) return `${open}${title}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">no data yet</text></svg>`;
  let x0 = Math.min(...pts.map((p) => p.step));
  let x1 = Math.max(...pts.map((p) => p.step));
  let y0 = Math.min(...pts.map((p) => fy(p.value)));
  let y1 = Math.max(...pts.map((p) => fy(p.value)));
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - Math.abs(y0 || 1) * 0.1, y1 + Math.abs(y1 || 1) * 0.1];
  const X = (s: number) => m.l + ((s - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - ((fy(v) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const lines = series.map((s, i) => {
    const color = DEFAULT_PALETTE[(i * 3 + 1) % DEFAULT_PALETTE.length];
    const d = s.points.filter((p) => Number.isFinite(p.value)).map((p) => `${X(p.step).toFixed(1)},${Y(p.value).toFixed(1)}`).join(" ");
    return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${d}"><title>${escapeHtml(s.name)}</title></polyline>` +
      (series.length > 1 ? `<text x="${W - m.r - 4}" y="${m.t + 12 + i * 12}" text-anchor="end" fill="${color}">${escapeHtml(s.name)}</text>` : "");
  });
  const ylab = (v: number) => formatNumber(logY ? 10 ** v : v, 3);
  const axes = `<path d="M${m.l},${m.t} V${H - m.b} H${W - m.r}" fill="none" stroke="#888"/>` +
    `<text x="${m.l - 4}" y="${m.t + 8}" text-anchor="end">${ylab(y1)}</text>` +
    `<text x="${m.l - 4}" y="${H - m.b}" text-anchor="end">${ylab(y0)}</text>` +
    `<text x="${m.l}" y="${H - 8}">${formatNumber(x0)}</text>` +
    `<text x="${W - m.r}" y="${H - 8}" text-anchor="end">step ${formatNumber(x1)}</text>`;
  return `${open}${title}${axes}${lines.join("")}</svg>`;
}

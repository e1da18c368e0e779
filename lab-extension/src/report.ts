/**
 * Evaluation report view: aggregates, then a sortable table (thumbnail, prefix, target, prediction, per-sample
 * scores; worst first as sent). Clicking a row (or Enter on it) opens its annotation or JSON-diff view below.
 */
import { MIME, type ReportPayload, type ReportRow } from "../../src/display/protocol";
import { el, fmt, safeImageSrc } from "./dom";
import { AnnotationsView } from "./annotations";
import { JsonDiffView } from "./jsondiff";

type Column = { key: string; label: string; value: (r: ReportRow) => number | string };

export class ReportView {
  readonly node = el("div", { class: "jp-Paligemma-report" });
  private readonly abort = new AbortController();
  private detail: AnnotationsView | JsonDiffView | null = null;
  private readonly detailNode = el("div", { class: "jp-Paligemma-detail", "aria-live": "polite" });
  private rows: ReportRow[] = [];
  private sort: { key: string; dir: 1 | -1 } | null = null;

  render(p: ReportPayload): void {
    this.rows = [...p.rows];
    this.node.replaceChildren();
    if (p.title) this.node.append(el("div", { class: "jp-Paligemma-title" }, p.title));
    const agg = el("tbody");
    for (const [k, v] of Object.entries(p.aggregates)) agg.append(el("tr", {}, el("td", {}, k), el("td", { class: "jp-Paligemma-num" }, fmt(v, 5))));
    this.node.append(el("table", { class: "jp-Paligemma-table", "aria-label": "aggregate metrics" }, agg));
    const scoreKeys = [...new Set(p.rows.flatMap((r) => Object.keys(r.scores)))];
    const cols: Column[] = [
      { key: "#", label: "#", value: (r) => r.index },
      { key: "prefix", label: "prefix", value: (r) => r.prefix },
      { key: "target", label: "target", value: (r) => r.target },
      { key: "prediction", label: "prediction", value: (r) => r.prediction },
      ...scoreKeys.map((k) => ({ key: `score:${k}`, label: k, value: (r: ReportRow) => r.scores[k] ?? Number.NaN })),
    ];
    const table = el("table", { class: "jp-Paligemma-table jp-Paligemma-reportTable" });
    const head = el("tr", {}, el("th", {}, "image"));
    const body = el("tbody");
    const fill = () => {
      body.replaceChildren(...this.rows.map((r) => this.rowEl(r, cols)));
      for (const th of head.querySelectorAll("th[data-key]")) {
        const k = th.getAttribute("data-key");
        th.setAttribute("aria-sort", this.sort?.key === k ? (this.sort.dir === 1 ? "ascending" : "descending") : "none");
      }
    };
    for (const c of cols) {
      const btn = el("button", { type: "button", class: "jp-Paligemma-sort" }, c.label);
      btn.addEventListener("click", () => {
        this.sort = { key: c.key, dir: this.sort?.key === c.key ? ((-this.sort.dir) as 1 | -1) : 1 };
        const dir = this.sort.dir;
        this.rows.sort((a, b) => {
          const x = c.value(a);
          const y = c.value(b);
          return dir * (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y)));
        });
        fill();
      }, { signal: this.abort.signal });
      head.append(el("th", { "data-key": c.key, "aria-sort": "none" }, btn));
    }
    if (p.sortKey) this.sort = { key: `score:${p.sortKey}`, dir: 1 };
    table.append(el("thead", {}, head), body);
    fill();
    this.node.append(table);
    if (p.omittedRows) this.node.append(el("div", { class: "jp-Paligemma-dim" }, `… ${p.omittedRows} better rows not shown`));
    this.node.append(this.detailNode);
  }

  dispose(): void {
    this.abort.abort();
    this.detail?.dispose();
    this.node.replaceChildren();
  }

  private rowEl(r: ReportRow, cols: Column[]): HTMLTableRowElement {
    const img = r.thumbnail && safeImageSrc(r.thumbnail.src) ? el("img", { src: safeImageSrc(r.thumbnail.src), width: r.thumbnail.width, height: r.thumbnail.height, alt: `sample ${r.index}` }) : null;
    const tr = el("tr", { tabindex: 0, class: r.detail ? "jp-Paligemma-clickable" : "", "data-index": r.index, "aria-label": `sample ${r.index}${r.detail ? ", open details" : ""}` }, el("td", {}, img));
    for (const c of cols) {
      const v = c.value(r);
      tr.append(el("td", { class: typeof v === "number" ? "jp-Paligemma-num" : "" }, typeof v === "number" ? fmt(v, 4) : v.length > 200 ? v.slice(0, 200) + "…" : v));
    }
    const open = () => void this.open(r);
    tr.addEventListener("click", open, { signal: this.abort.signal });
    tr.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") open();
    }, { signal: this.abort.signal });
    return tr;
  }

  private async open(r: ReportRow): Promise<void> {
    this.detail?.dispose();
    this.detail = null;
    this.detailNode.replaceChildren(el("div", { class: "jp-Paligemma-title" }, `sample ${r.index}`));
    if (!r.detail) {
      this.detailNode.append(el("pre", { class: "jp-Paligemma-caption" }, `${r.prefix}\ntarget:     ${r.target}\nprediction: ${r.prediction}`));
      return;
    }
    if (r.detail.mime === MIME.annotations) {
      const v = new AnnotationsView();
      this.detail = v;
      this.detailNode.append(v.node);
      await v.render(r.detail.payload);
    } else {
      const v = new JsonDiffView();
      this.detail = v;
      this.detailNode.append(v.node);
      v.render(r.detail.payload);
    }
  }
}

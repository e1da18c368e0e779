/**
 * JSON diff view: a tree with changed / missing / extra fields coloured, unchanged subtrees collapsed, counts per
 * kind, and a per-field accuracy table for many samples. Values are shown as JSON text, never as HTML.
 */
import type { DiffNode, DiffStatus, JsonDiffPayload, JsonValue } from "../../src/display/protocol";
import { el, fmt } from "./dom";

const MARK: Record<DiffStatus, string> = { equal: "=", changed: "~", missing: "−", extra: "+" };

function json(v: JsonValue | undefined): string {
  return v === undefined ? "" : JSON.stringify(v);
}

export class JsonDiffView {
  readonly node = el("div", { class: "jp-Paligemma-jsondiff" });
  private readonly abort = new AbortController();

  render(p: JsonDiffPayload): void {
    this.node.replaceChildren();
    if (p.title) this.node.append(el("div", { class: "jp-Paligemma-title" }, p.title));
    const counts = el("div", { class: "jp-Paligemma-diffCounts" });
    for (const k of ["equal", "changed", "missing", "extra"] as DiffStatus[]) {
      counts.append(el("span", { class: `jp-Paligemma-diff-${k}`, "data-kind": k }, `${MARK[k]} ${k} ${p.counts[k]}`));
    }
    if (p.samples !== undefined) counts.append(el("span", {}, `over ${p.samples} samples`));
    counts.prepend(el("span", { class: "jp-Paligemma-dim", title: "a missing or extra object counts each field inside it" }, "fields (leaf values):"));
    this.node.append(counts);
    for (const e of p.parseErrors ?? []) {
      this.node.append(el("div", { class: "jp-Paligemma-diff-missing" }, `${e.side} is not valid JSON: ${e.message}`));
      if (e.text) this.node.append(el("pre", { class: "jp-Paligemma-caption" }, e.text));
    }
    if (p.root) this.node.append(el("ul", { class: "jp-Paligemma-tree", role: "tree" }, this.nodeEl(p.root)));
    if (p.fieldAccuracy) this.node.append(this.fieldTable(p));
  }

  dispose(): void {
    this.abort.abort();
    this.node.replaceChildren();
  }

  private nodeEl(n: DiffNode): HTMLLIElement {
    const label = n.key === null ? "$" : typeof n.key === "number" ? `[${n.key}]` : n.key;
    const row = el("div", { class: `jp-Paligemma-diffRow jp-Paligemma-diff-${n.status}`, "data-path": n.path, "data-status": n.status, ...(n.matchedBy ? { title: `matched by ${n.matchedBy}` } : {}) },
      el("span", { class: "jp-Paligemma-mark", "aria-label": n.status }, MARK[n.status]), " ", el("b", {}, label));
    const li = el("li", { role: "treeitem" }, row);
    if (n.children && n.children.length > 0) {
      const open = n.status !== "equal"; // unchanged subtrees start collapsed
      const toggle = el("button", { type: "button", class: "jp-Paligemma-toggle", "aria-expanded": String(open), "aria-label": `expand ${label}` }, open ? "▾" : "▸");
      row.prepend(toggle);
      row.append(el("span", { class: "jp-Paligemma-dim" }, n.kind === "array" ? ` [${n.children.length}]` : ` {${n.children.length}}`));
      const ul = el("ul", { role: "group", hidden: !open });
      li.append(ul);
      let filled = false;
      const fill = () => {
        if (filled) return;
        filled = true;
        for (const c of n.children!) ul.append(this.nodeEl(c));
      };
      if (open) fill();
      toggle.addEventListener("click", () => {
        const now = toggle.getAttribute("aria-expanded") !== "true";
        if (now) fill();
        ul.hidden = !now;
        toggle.setAttribute("aria-expanded", String(now));
        toggle.textContent = now ? "▾" : "▸";
      }, { signal: this.abort.signal });
      li.setAttribute("aria-expanded", String(open));
      return li;
    }
    row.append(": ");
    if (n.status === "changed" && n.textDiff) {
      // Character-level: removed characters struck, added ones underlined, inside one quoted string.
      const span = el("span", { class: "jp-Paligemma-textDiff" }, '"');
      for (const o of n.textDiff) {
        const t = JSON.stringify(o.text).slice(1, -1);
        span.append(o.op === "=" ? t : el(o.op === "-" ? "del" : "ins", { class: o.op === "-" ? "jp-Paligemma-diff-missing" : "jp-Paligemma-diff-extra", "data-op": o.op }, t));
      }
      span.append('"');
      row.append(span);
    } else if (n.status === "changed") row.append(el("s", { class: "jp-Paligemma-diff-missing" }, json(n.expected)), " → ", el("span", { class: "jp-Paligemma-diff-extra" }, json(n.actual)));
    else if (n.status === "missing") row.append(el("span", {}, json(n.expected)), el("i", {}, " (missing)"));
    else if (n.status === "extra") row.append(el("span", {}, json(n.actual)), el("i", {}, " (extra)"));
    else row.append(el("span", {}, json(n.actual)));
    return li;
  }

  private fieldTable(p: JsonDiffPayload): HTMLElement {
    const body = el("tbody");
    for (const f of p.fieldAccuracy!) {
      const acc = f.total ? f.correct / f.total : 0;
      const bar = el("span", { class: "jp-Paligemma-bar" });
      bar.style.width = `${(100 * acc).toFixed(1)}%`;
      body.append(el("tr", {}, el("td", {}, el("code", {}, f.path)), el("td", { class: "jp-Paligemma-num" }, `${fmt(100 * acc, 3)}%`), el("td", { class: "jp-Paligemma-barCell" }, bar), el("td", { class: "jp-Paligemma-num" }, `${f.correct} / ${f.total}`)));
    }
    return el("table", { class: "jp-Paligemma-table", "aria-label": "per-field accuracy" }, el("thead", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "accuracy"), el("th", {}, ""), el("th", {}, "correct / total"))), body);
  }
}

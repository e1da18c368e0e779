/**
 * Class colours, after roboflow/supervision `ColorPalette.DEFAULT`: class id i gets colour i mod 20, unless the
 * caller maps names or ids to colours.
 *
 * @example
 * colorForClass(3); // "#ff7633"
 * resolveColor({ dog: "#00ff00" }, 0, "dog"); // "#00ff00"
 */
export const DEFAULT_PALETTE: readonly string[] = [
  "#a351fb", "#ff4040", "#ffa1a0", "#ff7633", "#ffb633", "#d1d435", "#4cfb12", "#94cf1a", "#40de8a", "#1b9640",
  "#00d6c2", "#2e9caa", "#00c4ff", "#364797", "#6675ff", "#0019ef", "#863aff", "#530087", "#cd3aff", "#ff97ca",
];

/** Colours by class name or by class id (`{ dog: "#00ff00", 3: "#ff0000" }`), or a palette list indexed by id. */
export type ColorOption = Readonly<Record<string, string>> | readonly string[];

export class ColorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ColorError";
  }
}

/** `#rgb`/`#rrggbb` → `#rrggbb` (lower case); throws naming the value otherwise. */
export function normalizeColor(c: string, where = "color"): string {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(typeof c === "string" ? c.trim() : "");
  if (!m) throw new ColorError(`${where}: expected "#rrggbb" or "#rgb"; got ${JSON.stringify(c)}`);
  const h = m[1].toLowerCase();
  return h.length === 3 ? `#${h[0]}${h[0]}${h[1]}${h[1]}${h[2]}${h[2]}` : `#${h}`;
}

/** The default colour of class id `id`. */
export function colorForClass(id: number): string {
  const n = DEFAULT_PALETTE.length;
  return DEFAULT_PALETTE[((Math.trunc(id) % n) + n) % n];
}

/** The colour for a class: by name, then by id, then the default palette. */
export function resolveColor(option: ColorOption | undefined, id: number, name: string): string {
  if (Array.isArray(option)) {
    if (option.length === 0) throw new ColorError("colors: the palette list is empty");
    return normalizeColor(option[id % option.length], `colors[${id % option.length}]`);
  }
  const byKey = option as Readonly<Record<string, string>> | undefined;
  if (byKey && Object.prototype.hasOwnProperty.call(byKey, name)) return normalizeColor(byKey[name], `colors[${JSON.stringify(name)}]`);
  if (byKey && Object.prototype.hasOwnProperty.call(byKey, String(id))) return normalizeColor(byKey[String(id)], `colors[${id}]`);
  return colorForClass(id);
}

/** `#rrggbb` → [r, g, b]. */
export function hexToRgb(hex: string): [number, number, number] {
  const h = normalizeColor(hex).slice(1);
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

/** Black or white, whichever reads better on `hex` (label text on a coloured tag). */
export function textColorOn(hex: string): "#000000" | "#ffffff" {
  const [r, g, b] = hexToRgb(hex);
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#000000" : "#ffffff";
}

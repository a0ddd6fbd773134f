/** Biome's (and this repository's) line width. */
const lineWidth = 100;

/**
 * JSON laid out the way Biome formats it (Prettier's JSON style), so a generated document
 * passes a formatter check unchanged: two-space indents, every non-empty object on its own
 * lines, an array of scalars on one line when it fits within 100 columns (else one element a
 * line), and a final newline. Keys keep the value's own order. Hand-written: a formatter
 * library would be a runtime dependency of the plugin for these few lines.
 */
export function formatJson(value: unknown): string {
  const out = { text: "" };
  write(out, value, "", 0);
  return `${out.text}\n`;
}

/**
 * Appends `value` to `out.text` (one growing string: V8 joins appends cheaply, where nested
 * `join`s copy every level again). `used`: the columns taken on the line where it starts,
 * counting the comma after it.
 */
function write(out: { text: string }, value: unknown, indent: string, used: number): void {
  if (Array.isArray(value)) {
    writeArray(out, value, indent, used);
    return;
  }
  if (value === null || typeof value !== "object") {
    out.text += JSON.stringify(value) ?? "null";
    return;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) {
    out.text += "{}";
    return;
  }
  const inner = `${indent}  `;
  out.text += "{";
  entries.forEach(([key, v], i) => {
    const comma = i < entries.length - 1 ? "," : "";
    const prefix = `${inner}${JSON.stringify(key)}: `;
    out.text += `\n${prefix}`;
    write(out, v, inner, prefix.length + comma.length);
    out.text += comma;
  });
  out.text += `\n${indent}}`;
}

function writeArray(
  out: { text: string },
  items: readonly unknown[],
  indent: string,
  used: number,
) {
  if (items.length === 0) {
    out.text += "[]";
    return;
  }
  if (items.every(printsFlat)) {
    const flat = flatArray(items);
    if (used + flat.length <= lineWidth) {
      out.text += flat;
      return;
    }
  }
  const inner = `${indent}  `;
  out.text += "[";
  items.forEach((v, i) => {
    const comma = i < items.length - 1 ? "," : "";
    out.text += `\n${inner}`;
    write(out, v, inner, inner.length + comma.length);
    out.text += comma;
  });
  out.text += `\n${indent}]`;
}

/** An array of flat values on one line, whatever its length (inside an array that fits). */
function flatArray(items: readonly unknown[]): string {
  return `[${items.map((v) => (Array.isArray(v) ? flatArray(v) : (JSON.stringify(v) ?? "null"))).join(", ")}]`;
}

/** A scalar, `{}` or an array of these: what an array may hold and still go on one line. */
function printsFlat(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  return Array.isArray(value) ? value.every(printsFlat) : Object.keys(value).length === 0;
}

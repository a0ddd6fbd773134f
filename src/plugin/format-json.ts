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
  return `${render(value, "", 0)}\n`;
}

/** `used`: the columns already taken on the line where the value starts. */
function render(value: unknown, indent: string, used: number): string {
  if (Array.isArray(value)) return renderArray(value, indent, used);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return "{}";
    const inner = `${indent}  `;
    const lines = entries.map(([key, v], i) => {
      const prefix = `${inner}${JSON.stringify(key)}: `;
      const comma = i < entries.length - 1 ? "," : "";
      return `${prefix}${render(v, inner, prefix.length + comma.length)}${comma}`;
    });
    return `{\n${lines.join("\n")}\n${indent}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function renderArray(items: readonly unknown[], indent: string, used: number): string {
  if (items.length === 0) return "[]";
  if (items.every(printsFlat)) {
    const flat = `[${items.map((v) => render(v, indent, 0)).join(", ")}]`;
    if (used + flat.length <= lineWidth) return flat;
  }
  const inner = `${indent}  `;
  const lines = items.map((v, i) => {
    const comma = i < items.length - 1 ? "," : "";
    return `${inner}${render(v, inner, inner.length + comma.length)}${comma}`;
  });
  return `[\n${lines.join("\n")}\n${indent}]`;
}

/** A scalar, `{}` or an array of these: what an array may hold and still go on one line. */
function printsFlat(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  return Array.isArray(value) ? value.every(printsFlat) : Object.keys(value).length === 0;
}

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, relative } from "node:path";

/** The command that rewrites the golden files on purpose (documented in the README). */
export const updateCommand = "UPDATE_GOLDEN=1 npx vitest run test/plugin";

/**
 * Compares `actual` with the golden file at `path`. With UPDATE_GOLDEN=1 it rewrites the file
 * instead; otherwise a mismatch fails with a line diff (`-` golden, `+` generated, with line
 * numbers and two lines of context) rather than two long strings.
 */
export function expectGolden(path: string, actual: string): void {
  const name = relative(process.cwd(), path);
  if (process.env.UPDATE_GOLDEN === "1") {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`no golden file ${name}; create it with ${updateCommand}`);
  const expected = readFileSync(path, "utf8");
  if (expected === actual) return;
  throw new Error(
    `generated output differs from ${name} (if on purpose: ${updateCommand})\n${lineDiff(expected, actual)}`,
  );
}

/** A small LCS line diff: enough for files of a few hundred lines. */
export function lineDiff(expected: string, actual: string): string {
  const a = expected.split("\n");
  const b = actual.split("\n");
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0),
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lcs[i] as number[];
      row[j] =
        a[i] === b[j]
          ? ((lcs[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as number[])[j] as number, row[j + 1] as number);
    }
  }
  type Op = { kind: " " | "-" | "+"; line: string; at: number };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: " ", line: a[i] as string, at: i + 1 });
      i++;
      j++;
    } else if (
      j < b.length &&
      (i >= a.length ||
        ((lcs[i] as number[])[j + 1] as number) > ((lcs[i + 1] as number[])[j] as number))
    ) {
      ops.push({ kind: "+", line: b[j] as string, at: j + 1 });
      j++;
    } else {
      ops.push({ kind: "-", line: a[i] as string, at: i + 1 });
      i++;
    }
  }
  const near = (k: number) => ops.slice(Math.max(0, k - 2), k + 3).some((op) => op.kind !== " ");
  const out: string[] = [];
  let skipped = false;
  ops.forEach((op, k) => {
    if (op.kind === " " && !near(k)) {
      if (!skipped) out.push("  …");
      skipped = true;
      return;
    }
    skipped = false;
    out.push(`${op.kind} ${String(op.at).padStart(4)} │ ${op.line}`);
  });
  return out.join("\n");
}

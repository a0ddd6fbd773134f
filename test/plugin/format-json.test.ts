import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { formatJson } from "../../src/plugin/format-json.js";
import { lineDiff } from "./support/golden.js";

const repoRoot = resolve(import.meta.dirname, "../..");

function biomeFormat(text: string): string {
  const formatted = spawnSync(
    join(repoRoot, "node_modules/.bin/biome"),
    ["format", "--stdin-file-path=generated.json"],
    { cwd: repoRoot, input: text, encoding: "utf8" },
  );
  if (formatted.status !== 0) throw new Error(formatted.stderr);
  return formatted.stdout;
}

it("lays JSON out as Biome does: objects expanded, short scalar arrays on one line", () => {
  const value = {
    empty: {},
    none: [],
    short: ["a", 1, true, null],
    nested: [[1, 2], [], {}],
    long: Array.from({ length: 30 }, (_, i) => `item-${i}`),
    // One line exactly at the width (100 columns with the comma), and one over it.
    atWidth: ["x".repeat(100 - '  "atWidth": [""],'.length)],
    overWidth: ["x".repeat(101 - '  "overWidth": [""],'.length)],
    objects: [{ a: 1 }, { b: { c: ["d"] } }],
    skipped: undefined,
    'quoted "key"': "line\nbreak",
  };
  const text = formatJson(value);
  expect(lineDiff(biomeFormat(text), text)).not.toMatch(/^[-+] /m);
  expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
  expect(text).toContain('  "short": ["a", 1, true, null],\n');
  expect(text).toMatch(/^ {2}"atWidth": \["x+"\],$/m);
  expect(text).toContain('  "overWidth": [\n');
  expect(text.endsWith("}\n")).toBe(true);
});

/**
 * `npm run bench [-- --json] [--quick] [--suite NAME…]`: runs every suite in bench/suites/,
 * prints markdown, and with --json merges the figures into bench/results/latest.json.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { BenchSuite } from "./bench-suite.js";

const args = process.argv.slice(2);
const json = args.includes("--json");
const quick = args.includes("--quick");
const only = args.flatMap((arg, i) => (arg === "--suite" && args[i + 1] ? [args[i + 1]] : []));

const suitesDir = join(import.meta.dirname, "suites");
const resultsPath = join(import.meta.dirname, "results", "latest.json");

const suites: BenchSuite[] = [];
for (const file of readdirSync(suitesDir)
  .filter((f) => f.endsWith(".ts"))
  .sort()) {
  const module = (await import(pathToFileURL(join(suitesDir, file)).href)) as {
    suite?: BenchSuite;
  };
  if (!module.suite) throw new Error(`bench/suites/${file} exports no \`suite\``);
  if (only.length === 0 || only.includes(module.suite.name)) suites.push(module.suite);
}
if (suites.length === 0) throw new Error(`no bench suite matches ${only.join(", ")}`);

const previous = existsSync(resultsPath)
  ? (JSON.parse(readFileSync(resultsPath, "utf8")) as Record<string, unknown>)
  : {};
const ratios = { ...((previous.ratios as Record<string, number> | undefined) ?? {}) };
const results: Record<string, unknown> = { ...previous };

for (const suite of suites) {
  console.log(`\n## ${suite.name}\n`);
  const report = await suite.run({ quick });
  console.log(report.markdown);
  results[suite.name] = report.figures;
  Object.assign(ratios, report.ratios);
}

if (json) {
  const merged = {
    ...results,
    ratios,
    node: process.version,
    date: new Date().toISOString(),
  };
  writeFileSync(resultsPath, `${JSON.stringify(merged, null, 2)}\n`);
  console.log(`\nfigures written to ${resultsPath}`);
}

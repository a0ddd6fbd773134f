/**
 * Code generation and the contract-policy gate: `buf generate` with protoc-gen-es alone and
 * with protoc-gen-protomesh beside it, on this repository's proto/ and on a synthetic module of
 * 200 services × 10 methods (bench/write-synthetic-module.ts); both plugins run in-process on
 * the same CodeGeneratorRequest (no Node start-up in the figure); and `protomesh breaking`
 * (buf breaking + the policy gate) on the synthetic module. Targets: our plugin adds ≤ 50% to
 * protoc-gen-es's time on the synthetic module; the whole gate runs in ≤ 5 s there.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  CodeGeneratorRequestSchema,
  type FileDescriptorProto,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import type { Plugin } from "@bufbuild/protoplugin";
import { checkBreaking } from "../../src/cli/breaking-gate.js";
import { runBuf } from "../../src/cli/buf-runner.js";
import { runPolicyGate } from "../../src/cli/run-policy-gate.js";
import { createProtomeshPlugin } from "../../src/plugin/index.js";
import type { BenchSuite } from "../bench-suite.js";
import { writeSyntheticModule } from "../write-synthetic-module.js";

const repoRoot = resolve(import.meta.dirname, "../..");
const require = createRequire(import.meta.url);
const { protocGenEs } = require("@bufbuild/protoc-gen-es/dist/cjs/src/protoc-gen-es-plugin.js") as {
  protocGenEs: Plugin;
};

const esPlugin = [
  "  - local: protoc-gen-es",
  "    out: gen",
  "    strategy: all",
  "    opt: [target=ts, import_extension=js]",
];
const protomeshPlugin = [
  `  - local: ["node", ${JSON.stringify(join(repoRoot, "src/plugin/from-sources.mjs"))}]`,
  "    out: gen",
  "    strategy: all",
  "    opt: [target=ts, import_extension=js]",
];

function template(dir: string, name: string, plugins: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, ["version: v2", "plugins:", ...plugins, ""].join("\n"));
  return path;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median wall-clock ms of `rounds` runs, after one warm-up (tsx's cache, buf's cache). */
function time(rounds: number, run: () => void): number {
  run();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    run();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

function bufGenerate(cwd: string, templatePath: string, out: string): void {
  rmSync(out, { recursive: true, force: true });
  const result = runBuf(["generate", "--template", templatePath, "--output", out], cwd);
  if (result.status !== 0) throw new Error(`buf generate failed in ${cwd}:\n${result.output}`);
}

/** The CodeGeneratorRequest buf would send for every file of the module in `cwd`. */
function requestFor(cwd: string, work: string) {
  const image = join(work, "image.binpb");
  const built = runBuf(["build", "-o", image], cwd);
  if (built.status !== 0) throw new Error(`buf build failed:\n${built.output}`);
  const files: FileDescriptorProto[] = fromBinary(
    FileDescriptorSetSchema,
    readFileSync(image),
  ).file;
  return create(CodeGeneratorRequestSchema, {
    protoFile: files,
    fileToGenerate: files.map((f) => f.name).filter((n) => n.startsWith("synthetic/")),
    parameter: "target=ts,import_extension=js",
  });
}

export const suite: BenchSuite = {
  name: "generate",
  async run({ quick }) {
    const rounds = quick ? 1 : 5;
    const services = quick ? 20 : 200;
    const work = mkdtempSync(join(tmpdir(), "protomesh-bench-generate-"));
    try {
      const esOnly = template(work, "es.yaml", esPlugin);
      const both = template(work, "both.yaml", [...esPlugin, ...protomeshPlugin]);
      const out = join(work, "out");

      const repoEs = time(rounds, () => bufGenerate(repoRoot, esOnly, out));
      const repoBoth = time(rounds, () => bufGenerate(repoRoot, both, out));

      const module = join(work, "module");
      mkdirSync(module, { recursive: true });
      writeSyntheticModule(module, { services, methods: 10 });
      symlinkSync(join(repoRoot, "node_modules"), join(module, "node_modules"));
      const synthEs = time(rounds, () => bufGenerate(module, esOnly, out));
      const synthBoth = time(rounds, () => bufGenerate(module, both, out));

      const request = requestFor(module, work);
      const ours = createProtomeshPlugin({ reporter: { warn: () => {} } });
      const inEs = time(rounds, () => void protocGenEs.run(request));
      const inOurs = time(rounds, () => {
        const response = ours.run(request);
        if (response.error) throw new Error(response.error);
      });

      // checkBreaking takes the baseline relative to the workspace, as `--against` does.
      const released = "released.binpb";
      const build = runBuf(["build", "--exclude-source-info", "-o", released], module);
      if (build.status !== 0) throw new Error(`buf build failed:\n${build.output}`);
      const gate = time(rounds, () => {
        if (!checkBreaking({ cwd: module, against: released }).ok) throw new Error("gate failed");
      });
      const policyGateOnly = time(rounds, () => void runPolicyGate(module, released));

      const overhead = (synthBoth - synthEs) / synthEs;
      const inProcessRatio = inOurs / inEs;
      const figures = {
        services,
        methodsPerService: 10,
        rounds,
        repoBufGenerateMs: { protocGenEs: repoEs, withProtomesh: repoBoth },
        syntheticBufGenerateMs: { protocGenEs: synthEs, withProtomesh: synthBoth },
        syntheticInProcessMs: { protocGenEs: inEs, protocGenProtomesh: inOurs },
        syntheticGateMs: { protomeshBreaking: gate, policyGateAlone: policyGateOnly },
      };
      const ms = (v: number) => `${v.toFixed(0)} ms`;
      const markdown = [
        `| what (median of ${rounds}) | protoc-gen-es | + protoc-gen-protomesh | added |`,
        "| --- | --- | --- | --- |",
        `| buf generate, repo proto/ | ${ms(repoEs)} | ${ms(repoBoth)} | ${pct((repoBoth - repoEs) / repoEs)} |`,
        `| buf generate, ${services} × 10 synthetic | ${ms(synthEs)} | ${ms(synthBoth)} | ${pct(overhead)} (target ≤ 50%) |`,
        `| in-process plugin run, ${services} × 10 | ${ms(inEs)} | ours alone ${ms(inOurs)} | ours / es ${inProcessRatio.toFixed(2)}× |`,
        "",
        `protomesh breaking on the synthetic module (buf breaking + policy gate): ${ms(gate)} (target ≤ 5000 ms); the policy gate alone (two buf builds + compare): ${ms(policyGateOnly)}.`,
      ].join("\n");
      return {
        markdown,
        figures,
        ratios: {
          "generate.plugin_added_share": overhead,
          "generate.in_process_ours_over_es": inProcessRatio,
          "generate.gate_seconds": gate / 1000,
        },
      };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};

function pct(share: number): string {
  return `${(share * 100).toFixed(0)}%`;
}

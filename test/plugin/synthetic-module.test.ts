import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeSyntheticModule } from "../../bench/write-synthetic-module.js";
import { checkBreaking } from "../../src/cli/breaking-gate.js";
import { runBuf } from "../../src/cli/buf-runner.js";
import { createProtomeshPlugin } from "../../src/plugin/index.js";
import { compileProtos, generatorRequest, readProtoTree } from "./support/plugin-request.js";

// The generate bench's module, at a tiny size: its contracts must be clean, or the bench
// would time a failing run. (The bench itself is run by hand: npm run bench -- --suite generate.)
describe("the generate bench's synthetic module", () => {
  it("compiles, and the plugin generates one module per service with no finding", () => {
    const dir = mkdtempSync(join(tmpdir(), "protomesh-synthetic-"));
    try {
      const paths = writeSyntheticModule(dir, { services: 2, methods: 3 });
      const sources = readProtoTree(join(dir, "proto"));
      const files = compileProtos(Object.fromEntries(paths.map((p) => [p, sources[p] ?? ""])));
      const warnings: string[] = [];
      const plugin = createProtomeshPlugin({ reporter: { warn: (l) => warnings.push(l) } });
      const response = plugin.run(generatorRequest(files, paths, "target=ts"));
      expect(response.error ?? "").toBe("");
      expect(warnings).toEqual([]);
      expect(response.file.map((f) => f.name)).toEqual([
        "synthetic/s000/v1/service_000_protomesh.ts",
        "synthetic/s001/v1/service_001_protomesh.ts",
        // Reads carry a google.api.http rule (the bench times OpenAPI generation too).
        "openapi/synthetic/s000/v1/openapi.json",
        "openapi/synthetic/s001/v1/openapi.json",
      ]);
      expect(response.file[0]?.content).toContain("createService000Client");

      // The bench also times protomesh breaking on it, against its own release.
      const released = runBuf(["build", "--exclude-source-info", "-o", "released.binpb"], dir);
      expect(released.status, released.output).toBe(0);
      const gate = checkBreaking({ cwd: dir, against: "released.binpb" });
      expect([gate.ok, gate.findings]).toEqual([true, []]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { execFileSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runBuf } from "../../src/cli/buf-runner.js";
import { repositoryFiles } from "../../src/cli/scaffold/repository-templates.js";
import { parseServiceName } from "../../src/cli/scaffold/service-name.js";

const repoRoot = resolve(import.meta.dirname, "../..");
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const contract = (policy: string, http = "") => `syntax = "proto3";

package acme.stock.v1;

import "google/api/annotations.proto";
import "protomesh/options/v1/options.proto";

// StockService counts stock.
service StockService {
  // Count counts one product.
  rpc Count(CountRequest) returns (CountResponse) {
    option (protomesh.options.v1.policy) = {${policy}};${http}
  }
}

// CountRequest names a product.
message CountRequest {
  // The product.
  string sku = 1;
}

// CountResponse carries a count.
message CountResponse {
  // Units.
  uint32 units = 1;
}
`;

/** A workspace generating with protoc-gen-es and protoc-gen-protomesh, run from its sources. */
function workspace(): string {
  const cwd = mkdtempSync(join(tmpdir(), "protomesh-bufgen-"));
  dirs.push(cwd);
  writeFileSync(join(cwd, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\n");
  writeFileSync(
    join(cwd, "buf.gen.yaml"),
    [
      "version: v2",
      "clean: true",
      "plugins:",
      "  - local: protoc-gen-es",
      "    out: gen",
      "    opt: [target=ts, import_extension=js]",
      `  - local: ["node", ${JSON.stringify(join(repoRoot, "src/plugin/from-sources.mjs"))}]`,
      "    out: gen",
      "    opt: [target=ts, import_extension=js]",
      "",
    ].join("\n"),
  );
  for (const shared of ["protomesh", "google"]) {
    cpSync(join(repoRoot, "proto", shared), join(cwd, "proto", shared), { recursive: true });
  }
  symlinkSync(join(repoRoot, "node_modules"), join(cwd, "node_modules"));
  mkdirSync(join(cwd, "proto/acme/stock/v1"), { recursive: true });
  return cwd;
}

function listGen(cwd: string): string[] {
  return readdirSync(join(cwd, "gen"), { recursive: true, encoding: "utf8" }).sort();
}

describe("buf generate with protoc-gen-protomesh", () => {
  it("has a bin shim that runs the plugin", () => {
    const out = execFileSync(
      join(repoRoot, "node_modules/.bin/tsx"),
      [join(repoRoot, "src/plugin/bin.ts"), "--version"],
      { encoding: "utf8" },
    );
    expect(out.trim()).toMatch(/^protoc-gen-protomesh v\d+\.\d+\.\d+$/);
  });

  it("fails on a contract error with protoc's file:line:col, and leaves gen/ as it was", () => {
    const cwd = workspace();
    const proto = join(cwd, "proto/acme/stock/v1/stock.proto");
    writeFileSync(proto, contract("timeout: {seconds: 2}"));
    const good = runBuf(["generate"], cwd);
    expect(good.status, good.output).toBe(0);
    const before = listGen(cwd);
    expect(before).toContain(join("acme", "stock", "v1", "stock_protomesh.ts"));
    const generated = join(cwd, "gen/acme/stock/v1/stock_protomesh.ts");
    expect(readFileSync(generated, "utf8")).toContain("timeoutMs: 2000,");

    writeFileSync(proto, contract("timeout: {seconds: 7200}"));
    const bad = runBuf(["generate"], cwd);
    expect(bad.status).not.toBe(0);
    expect(bad.output).toContain(
      "acme/stock/v1/stock.proto:12:55: Count: timeout must be more than 0s and at most 1h, got 7200s",
    );
    // buf writes nothing when a plugin fails, and clean: true did not empty gen/ first.
    expect(listGen(cwd)).toEqual(before);
    expect(readFileSync(generated, "utf8")).toContain("timeoutMs: 2000,");
  });

  it("writes gen/openapi/ for a PUBLIC rule, and fails on a bad rule leaving it as it was", () => {
    const cwd = workspace();
    const proto = join(cwd, "proto/acme/stock/v1/stock.proto");
    const rule = (body: string) =>
      `\n    option (google.api.http) = {post: "/v1/stock/{sku}:count", body: "${body}"};`;
    writeFileSync(proto, contract("visibility: VISIBILITY_PUBLIC", rule("*")));
    const good = runBuf(["generate"], cwd);
    expect(good.status, good.output).toBe(0);
    const openapi = join(cwd, "gen/openapi/acme/stock/v1/openapi.json");
    const document = readFileSync(openapi, "utf8");
    expect(JSON.parse(document).paths["/v1/stock/{sku}:count"].post.operationId).toBe(
      "StockService_Count",
    );
    const before = listGen(cwd);

    writeFileSync(proto, contract("visibility: VISIBILITY_PUBLIC", rule("units")));
    const bad = runBuf(["generate"], cwd);
    expect(bad.status).not.toBe(0);
    expect(bad.output).toContain(
      'acme/stock/v1/stock.proto:13:64: acme.stock.v1.StockService.Count: body "units" is not a field of acme.stock.v1.CountRequest',
    );
    expect(listGen(cwd)).toEqual(before);
    expect(readFileSync(openapi, "utf8")).toBe(document);
  });

  it("writes gen/openapi/ with the buf.gen.yaml that protomesh init writes", () => {
    const cwd = workspace();
    const example = parseServiceName("init", "acme.stock.v1.StockService");
    writeFileSync(join(cwd, "buf.gen.yaml"), repositoryFiles(example)["buf.gen.yaml"] ?? "");
    writeFileSync(
      join(cwd, "proto/acme/stock/v1/stock.proto"),
      contract(
        "visibility: VISIBILITY_PUBLIC",
        '\n    option (google.api.http) = {get: "/v1/stock/{sku}"};',
      ),
    );
    const generated = runBuf(["generate"], cwd);
    expect(generated.status, generated.output).toBe(0);
    expect(listGen(cwd)).toEqual(
      expect.arrayContaining([
        join("acme", "stock", "v1", "stock_protomesh.js"),
        join("acme", "stock", "v1", "stock_protomesh.d.ts"),
        join("openapi", "acme", "stock", "v1", "openapi.json"),
      ]),
    );
    const document = JSON.parse(
      readFileSync(join(cwd, "gen/openapi/acme/stock/v1/openapi.json"), "utf8"),
    );
    expect(Object.keys(document.paths)).toEqual(["/v1/stock/{sku}"]);
  });
});

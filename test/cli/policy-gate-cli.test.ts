import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkBreaking } from "../../src/cli/breaking-gate.js";
import { releaseContracts } from "../../src/cli/release-contracts.js";

const root = resolve(import.meta.dirname, "../..");
const stockPath = "proto/acme/stock/v1/stock.proto";
const stock = `syntax = "proto3";

package acme.stock.v1;

import "google/api/annotations.proto";
import "protomesh/options/v1/options.proto";

// StockService counts stock.
service StockService {
  // Count counts one product.
  rpc Count(CountRequest) returns (CountResponse) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (google.api.http) = {get: "/v1/stock/{sku}"};
    option (protomesh.options.v1.policy) = {
      timeout: {seconds: 4}
      visibility: VISIBILITY_PUBLIC
    };
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

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" });
}

/** A repo whose stock contract (with its options) is released and committed. */
function releasedRepo(): string {
  const cwd = mkdtempSync(join(tmpdir(), "protomesh-policy-gate-"));
  dirs.push(cwd);
  git(cwd, "init", "-q", "-b", "main");
  git(cwd, "config", "user.email", "test@example.com");
  git(cwd, "config", "user.name", "test");
  cpSync(join(root, "buf.yaml"), join(cwd, "buf.yaml"));
  for (const shared of ["protomesh/options", "google/api"]) {
    cpSync(join(root, "proto", shared), join(cwd, "proto", shared), { recursive: true });
  }
  mkdirSync(dirname(join(cwd, stockPath)), { recursive: true });
  writeFileSync(join(cwd, stockPath), stock);
  expect(releaseContracts({ cwd }).ok).toBe(true);
  git(cwd, "add", "-A");
  git(cwd, "commit", "-q", "-m", "release");
  return cwd;
}

function edit(cwd: string, from: string, to: string): void {
  const text = readFileSync(join(cwd, stockPath), "utf8");
  expect(text.includes(from)).toBe(true);
  writeFileSync(join(cwd, stockPath), text.replace(from, to));
}

describe("protomesh breaking: the contract-policy gate", () => {
  it("fails on a change buf cannot see, naming file, method and rule", () => {
    const cwd = releasedRepo();
    edit(cwd, "visibility: VISIBILITY_PUBLIC", "visibility: VISIBILITY_INTERNAL");
    const result = checkBreaking({ cwd });
    expect(result.ok).toBe(false);
    expect(result.report).toContain(
      "acme/stock/v1/stock.proto:16:7: acme.stock.v1.StockService.Count: visibility-narrowed:",
    );
    // …and release refuses to record it as the new baseline.
    const release = releaseContracts({ cwd });
    expect(release.ok).toBe(false);
    expect(release.report).toContain("visibility-narrowed");
  });

  it("passes with only a warning for a retryable code removed", () => {
    const cwd = releasedRepo();
    edit(
      cwd,
      "visibility: VISIBILITY_PUBLIC",
      "visibility: VISIBILITY_PUBLIC\n      retry: {max_attempts: 3, retryable_codes: [STATUS_CODE_ABORTED]}",
    );
    const result = checkBreaking({ cwd });
    expect(result.ok).toBe(true);
    expect(result.findings.map((f) => [f.rule, f.severity])).toEqual([
      ["retryable-code-removed", "warning"],
    ]);
  });

  it("compares with a git ref too", () => {
    const cwd = releasedRepo();
    edit(cwd, 'get: "/v1/stock/{sku}"', 'get: "/v1/stock/{sku}/count"');
    git(cwd, "commit", "-qam", "move the route");
    const result = checkBreaking({ cwd, against: "HEAD~1" });
    expect(result.ok).toBe(false);
    expect(result.findings.map((f) => f.rule)).toEqual(["http-binding-removed"]);
  });
});

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkBreaking } from "../../src/cli/breaking-gate.js";
import { releaseContracts } from "../../src/cli/release-contracts.js";

const projectBufYaml = resolve(import.meta.dirname, "../../buf.yaml");
const shopPath = "proto/acme/shop/v1/shop.proto";
const labPath = "proto/acme/lab/v1alpha1/lab.proto";

const shop = `syntax = "proto3";

package acme.shop.v1;

// ShopService sells items.
service ShopService {
  // GetItem reads an item.
  rpc GetItem(GetItemRequest) returns (GetItemResponse);
  // PutItem stores an item.
  rpc PutItem(PutItemRequest) returns (PutItemResponse);
}

// GetItemRequest names an item.
message GetItemRequest {
  string item_id = 1;
}

// GetItemResponse carries an item.
message GetItemResponse {
  Item item = 1;
}

// PutItemRequest carries an item.
message PutItemRequest {
  Item item = 1;
}

// PutItemResponse is empty.
message PutItemResponse {}

// Item is a thing for sale.
message Item {
  string item_id = 1;
  string name = 2;
  int64 price_units = 3;
}
`;

const lab = `syntax = "proto3";

package acme.lab.v1alpha1;

// Experiment is unstable.
message Experiment {
  string name = 1;
  int32 score = 2;
}
`;

const repos: string[] = [];
afterEach(() => {
  for (const dir of repos.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" });
}

function write(cwd: string, path: string, text: string): void {
  mkdirSync(dirname(join(cwd, path)), { recursive: true });
  writeFileSync(join(cwd, path), text);
}

function commitAll(cwd: string, message: string): void {
  git(cwd, "add", "-A");
  git(cwd, "commit", "-q", "--allow-empty", "-m", message);
}

/** A throw-away repo holding the shop contract, released and committed, as main would be. */
function releasedRepo(): string {
  const cwd = mkdtempSync(join(tmpdir(), "protomesh-gate-"));
  repos.push(cwd);
  git(cwd, "init", "-q", "-b", "main");
  git(cwd, "config", "user.email", "test@example.com");
  git(cwd, "config", "user.name", "test");
  copyFileSync(projectBufYaml, join(cwd, "buf.yaml"));
  write(cwd, shopPath, shop);
  write(cwd, labPath, lab);
  commitAll(cwd, "add contracts");
  expect(releaseContracts({ cwd }).ok).toBe(true);
  commitAll(cwd, "release contracts");
  return cwd;
}

function change(cwd: string, path: string, from: string | RegExp, to: string): void {
  const before = readFileSync(join(cwd, path), "utf8");
  const after = before.replace(from, to);
  expect(after, "the edit must apply").not.toBe(before);
  writeFileSync(join(cwd, path), after);
  commitAll(cwd, `edit ${path}`);
}

describe("breaking gate against the released contracts", () => {
  it.each([
    [
      "adding a field",
      "  int64 price_units = 3;\n",
      "  int64 price_units = 3;\n  string color = 4;\n",
    ],
    [
      "adding an RPC",
      "  rpc PutItem(PutItemRequest) returns (PutItemResponse);\n",
      "  rpc PutItem(PutItemRequest) returns (PutItemResponse);\n  // DropItem removes an item.\n  rpc DropItem(GetItemRequest) returns (PutItemResponse);\n",
    ],
    [
      "adding a message",
      "// Item is",
      "// Tag labels items.\nmessage Tag {\n  string label = 1;\n}\n\n// Item is",
    ],
  ])("passes on %s", (_name, from, to) => {
    const cwd = releasedRepo();
    change(cwd, shopPath, from, to);
    const result = checkBreaking({ cwd });
    expect(result.report).toBe("");
    expect(result.ok).toBe(true);
  });

  it.each([
    [
      "deleting a field",
      "  string name = 2;\n",
      "",
      /field "2" with name "name" on message "Item" was deleted/i,
    ],
    [
      "changing a field's type",
      "int64 price_units = 3",
      "string price_units = 3",
      /changed type from "int64" to "string"/i,
    ],
    [
      "changing a field's number",
      "string name = 2",
      "string name = 4",
      /field "2" with name "name" on message "Item" was deleted/i,
    ],
    [
      "renaming a field",
      "string name = 2",
      "string title = 2",
      /changed name from "name" to "title"/i,
    ],
    [
      "removing an RPC",
      "  // PutItem stores an item.\n  rpc PutItem(PutItemRequest) returns (PutItemResponse);\n",
      "",
      /RPC "PutItem" on service "ShopService" was deleted/i,
    ],
    [
      "changing an RPC's request type",
      "rpc GetItem(GetItemRequest)",
      "rpc GetItem(PutItemRequest)",
      /changed request type from "acme.shop.v1.GetItemRequest" to "acme.shop.v1.PutItemRequest"/i,
    ],
    [
      "renaming the package",
      "package acme.shop.v1;",
      "package acme.store.v1;",
      /package changed from "acme.shop.v1" to "acme.store.v1"/i,
    ],
  ])("fails on %s, naming the problem", (_name, from, to, message) => {
    const cwd = releasedRepo();
    change(cwd, shopPath, from, to);
    const result = checkBreaking({ cwd });
    expect(result.ok).toBe(false);
    expect(result.report).toMatch(message);
  });

  it("lets an unstable v1alpha1 package change freely", () => {
    const cwd = releasedRepo();
    change(cwd, labPath, "  int32 score = 2;\n", "");
    change(cwd, labPath, "string name = 1", "int64 name = 1");
    expect(checkBreaking({ cwd })).toMatchObject({ ok: true, report: "" });
  });

  it("still fails when an unrelated commit follows the breaking one", () => {
    const cwd = releasedRepo();
    change(cwd, shopPath, "  string name = 2;\n", "");
    write(cwd, "README.md", "unrelated\n");
    commitAll(cwd, "docs");
    const result = checkBreaking({ cwd });
    expect(result.ok).toBe(false);
    expect(result.report).toMatch(/"name" on message "Item" was deleted/);
  });

  it("refuses to release a state that breaks the previous release", () => {
    const cwd = releasedRepo();
    const baseline = readFileSync(join(cwd, "contracts/released.binpb"));
    change(cwd, shopPath, "  string name = 2;\n", "");
    const release = releaseContracts({ cwd });
    expect(release.ok).toBe(false);
    expect(release.report).toMatch(/refusing to release[\s\S]*was deleted/);
    expect(readFileSync(join(cwd, "contracts/released.binpb")).equals(baseline)).toBe(true);
  });

  it("moves the baseline forward on a compatible release", () => {
    const cwd = releasedRepo();
    change(
      cwd,
      shopPath,
      "  int64 price_units = 3;\n",
      "  int64 price_units = 3;\n  string color = 4;\n",
    );
    expect(releaseContracts({ cwd }).ok).toBe(true);
    commitAll(cwd, "release");
    change(cwd, shopPath, "  string color = 4;\n", "");
    expect(checkBreaking({ cwd })).toMatchObject({ ok: false });
  });
});

describe("breaking gate with an overridden base", () => {
  it("compares with a git ref given as --against", () => {
    const cwd = releasedRepo();
    const released = git(cwd, "rev-parse", "HEAD").trim();
    change(cwd, shopPath, "string name = 2", "string title = 2");
    expect(checkBreaking({ cwd, against: released }).ok).toBe(false);
    expect(checkBreaking({ cwd, against: "HEAD" }).ok).toBe(true);
  });

  it("takes the base from PROTOMESH_BREAKING_AGAINST", () => {
    const cwd = releasedRepo();
    rmSync(join(cwd, "contracts"), { recursive: true });
    change(cwd, shopPath, "string name = 2", "string title = 2");
    process.env.PROTOMESH_BREAKING_AGAINST = "HEAD~1";
    try {
      expect(checkBreaking({ cwd })).toMatchObject({ ok: false, against: "HEAD~1" });
    } finally {
      delete process.env.PROTOMESH_BREAKING_AGAINST;
    }
  });

  it("passes when the base has no proto/ yet", () => {
    const cwd = mkdtempSync(join(tmpdir(), "protomesh-gate-"));
    repos.push(cwd);
    git(cwd, "init", "-q", "-b", "main");
    git(cwd, "config", "user.email", "test@example.com");
    git(cwd, "config", "user.name", "test");
    write(cwd, "README.md", "empty\n");
    commitAll(cwd, "initial");
    copyFileSync(projectBufYaml, join(cwd, "buf.yaml"));
    write(cwd, shopPath, shop);
    commitAll(cwd, "contracts");
    expect(checkBreaking({ cwd, against: "HEAD~1" })).toMatchObject({ ok: true });
    expect(checkBreaking({ cwd }).report).toMatch(/no released contracts/);
  });

  it("rejects an --against that is neither a path nor a ref", () => {
    const cwd = releasedRepo();
    expect(() => checkBreaking({ cwd, against: "no-such-ref" })).toThrow(
      /neither a file nor a git ref/,
    );
  });
});

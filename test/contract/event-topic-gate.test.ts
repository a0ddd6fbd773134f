import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkBreaking } from "../../src/cli/breaking-gate.js";
import { releaseContracts } from "../../src/cli/release-contracts.js";

const root = resolve(import.meta.dirname, "../..");
const optionsPath = "proto/protomesh/options/v1/options.proto";
const eventsPath = "proto/acme/shop/v1/shop_events.proto";
const events = `syntax = "proto3";

package acme.shop.v1;

import "protomesh/options/v1/options.proto";

// ItemSold is published when an item is sold.
message ItemSold {
  option (protomesh.options.v1.event) = {topic: "acme.shop.v1.item_sold"};
  // The item.
  string item_id = 1;
}
`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function write(cwd: string, path: string, text: string): void {
  mkdirSync(dirname(join(cwd, path)), { recursive: true });
  writeFileSync(join(cwd, path), text);
}

function releasedRepo(): string {
  const cwd = mkdtempSync(join(tmpdir(), "protomesh-topic-"));
  dirs.push(cwd);
  const git = (...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8" });
  git("init", "-q", "-b", "main");
  git("config", "user.email", "test@example.com");
  git("config", "user.name", "test");
  copyFileSync(join(root, "buf.yaml"), join(cwd, "buf.yaml"));
  write(cwd, optionsPath, readFileSync(join(root, optionsPath), "utf8"));
  write(cwd, eventsPath, events);
  git("add", "-A");
  git("commit", "-q", "-m", "contracts");
  expect(releaseContracts({ cwd }).ok).toBe(true);
  return cwd;
}

describe("protomesh breaking: event topics", () => {
  it("fails when an event's topic changes, though buf alone sees nothing", () => {
    const cwd = releasedRepo();
    write(cwd, eventsPath, events.replace("acme.shop.v1.item_sold", "acme.shop.v1.sold"));
    const result = checkBreaking({ cwd });
    expect(result.ok).toBe(false);
    expect(result.report).toBe(
      `acme/shop/v1/shop_events.proto:8:1: acme.shop.v1.ItemSold: event-topic-changed: event topic changed from "acme.shop.v1.item_sold" to "acme.shop.v1.sold"`,
    );
  });

  it("fails when the topic option is removed", () => {
    const cwd = releasedRepo();
    write(cwd, eventsPath, events.replace(/ {2}option \(protomesh[^\n]*\n/, ""));
    const result = checkBreaking({ cwd });
    expect(result.ok).toBe(false);
    expect(result.report).toBe(
      `acme/shop/v1/shop_events.proto:8:1: acme.shop.v1.ItemSold: event-topic-changed: the event topic option "acme.shop.v1.item_sold" was removed`,
    );
  });

  it("passes when the topic stays and a field is added", () => {
    const cwd = releasedRepo();
    write(
      cwd,
      eventsPath,
      events.replace(
        "string item_id = 1;",
        "string item_id = 1;\n  // Count.\n  uint32 count = 2;",
      ),
    );
    const result = checkBreaking({ cwd });
    expect(result.report).toBe("");
    expect(result.ok).toBe(true);
  });
});

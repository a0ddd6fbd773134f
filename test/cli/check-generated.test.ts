import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkGenerated } from "../../src/cli/check-generated.js";

const root = resolve(import.meta.dirname, "../..");
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A copy of this project's contracts, generation config and committed gen/, with the sources
 * and node_modules that buf.gen.yaml's local protoc-gen-protomesh runs from.
 */
function copyOfProject(): string {
  const cwd = mkdtempSync(join(tmpdir(), "protomesh-checkgen-"));
  dirs.push(cwd);
  for (const entry of ["proto", "gen", "src", "package.json", "buf.yaml", "buf.gen.yaml"]) {
    cpSync(join(root, entry), join(cwd, entry), { recursive: true });
  }
  symlinkSync(join(root, "node_modules"), join(cwd, "node_modules"));
  return cwd;
}

const probe = "gen/acme/order/v1/order_service_pb.ts";

describe("check:gen", () => {
  it("passes on the committed gen/", () => {
    expect(checkGenerated({ cwd: copyOfProject() })).toEqual({
      ok: true,
      stale: [],
      missing: [],
      extra: [],
    });
  });

  it("names a generated file edited by hand", () => {
    const cwd = copyOfProject();
    appendFileSync(join(cwd, probe), "// edited\n");
    expect(checkGenerated({ cwd })).toMatchObject({ ok: false, stale: [probe] });
  });

  it("covers protoc-gen-protomesh's files too", () => {
    const cwd = copyOfProject();
    const generated = "gen/acme/order/v1/order_service_protomesh.ts";
    appendFileSync(join(cwd, generated), "// edited\n");
    rmSync(join(cwd, "gen/acme/inventory/v1/inventory_service_protomesh.ts"));
    expect(checkGenerated({ cwd })).toMatchObject({
      ok: false,
      stale: [generated],
      missing: ["gen/acme/inventory/v1/inventory_service_protomesh.ts"],
    });
  });

  it("names a generated file that is missing", () => {
    const cwd = copyOfProject();
    rmSync(join(cwd, probe));
    expect(checkGenerated({ cwd })).toMatchObject({ ok: false, missing: [probe] });
  });

  it("names a file generation no longer writes", () => {
    const cwd = copyOfProject();
    rmSync(join(cwd, "proto/acme/notification"), { recursive: true });
    expect(checkGenerated({ cwd })).toMatchObject({
      ok: false,
      extra: [
        "gen/acme/notification/v1/notification_service_pb.ts",
        "gen/acme/notification/v1/notification_service_protomesh.ts",
      ],
    });
  });
});

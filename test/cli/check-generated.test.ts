import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkGenerated } from "../../src/cli/check-generated.js";

const root = resolve(import.meta.dirname, "../..");
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of this project's contracts, generation config and committed gen/. */
function copyOfProject(): string {
  const cwd = mkdtempSync(join(tmpdir(), "protomesh-checkgen-"));
  dirs.push(cwd);
  for (const entry of ["proto", "gen", "buf.yaml", "buf.gen.yaml"]) {
    cpSync(join(root, entry), join(cwd, entry), { recursive: true });
  }
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
      extra: ["gen/acme/notification/v1/notification_service_pb.ts"],
    });
  });
});

import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runProtomesh } from "./support/memory-io.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "protomesh-init-"));
  dirs.push(dir);
  return dir;
}

describe("protomesh init and new service", () => {
  it("init scaffolds a repository that lints, with a baseline and a CI script", async () => {
    const root = tempDir();
    const run = await runProtomesh(["init", root]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    for (const path of [
      "buf.yaml",
      "buf.gen.yaml",
      "proto/acme/greeter/v1/greeter_service.proto",
      "contracts/released.binpb",
      "scripts/ci.sh",
      "README.md",
    ]) {
      expect(existsSync(join(root, path)), path).toBe(true);
    }
    const bufYaml = readFileSync(join(root, "buf.yaml"), "utf8");
    expect(bufYaml).toMatch(/- STANDARD[\s\S]*- COMMENT_RPC[\s\S]*- FILE/);
    const bufGen = readFileSync(join(root, "buf.gen.yaml"), "utf8");
    expect(bufGen).toContain("local: protoc-gen-es");
    expect(bufGen).not.toContain("remote:");
    expect(bufGen).toContain("protoc-gen-protomesh");
    const ci = readFileSync(join(root, "scripts/ci.sh"), "utf8");
    expect(ci).toMatch(/protomesh lint[\s\S]*protomesh breaking[\s\S]*protomesh check-gen/);
    expect(statSync(join(root, "scripts/ci.sh")).mode & 0o111).not.toBe(0);
    expect((await runProtomesh(["lint"], { cwd: root })).code).toBe(0);
    expect((await runProtomesh(["breaking"], { cwd: root })).code).toBe(0);
  });

  it("init refuses to overwrite and then writes nothing at all", async () => {
    const root = tempDir();
    writeFileSync(join(root, "README.md"), "mine\n");
    const run = await runProtomesh(["init"], { cwd: root });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("refusing to overwrite README.md");
    expect(readdirSync(root)).toEqual(["README.md"]);
    expect(readFileSync(join(root, "README.md"), "utf8")).toBe("mine\n");
  });

  it("new service adds a contract that lints and generates, with handler and test stubs", async () => {
    const root = tempDir();
    expect((await runProtomesh(["init", root])).code).toBe(0);
    const run = await runProtomesh(["new", "service", "acme.billing.v1.InvoiceLineService"], {
      cwd: root,
    });
    expect(run.code).toBe(0);
    const proto = readFileSync(
      join(root, "proto/acme/billing/v1/invoice_line_service.proto"),
      "utf8",
    );
    expect(proto).toContain("package acme.billing.v1;");
    expect(proto).toMatch(
      /rpc GetInvoiceLine\(GetInvoiceLineRequest\) returns \(GetInvoiceLineResponse\) \{\s*option idempotency_level = NO_SIDE_EFFECTS;/,
    );
    expect(readFileSync(join(root, "src/invoice-line-service.ts"), "utf8")).toContain(
      "defineService(InvoiceLineService",
    );
    expect(existsSync(join(root, "test/invoice-line-service.test.ts"))).toBe(true);
    const lint = await runProtomesh(["lint"], { cwd: root });
    expect(lint.stderr).toBe("");
    expect(lint.code).toBe(0);
    expect((await runProtomesh(["generate"], { cwd: root })).code).toBe(0);
    expect(existsSync(join(root, "gen/acme/billing/v1/invoice_line_service_pb.js"))).toBe(true);
    expect(existsSync(join(root, "gen/acme/billing/v1/invoice_line_service_pb.d.ts"))).toBe(true);
    // protoc-gen-protomesh, as init's buf.gen.yaml asks: a client factory, policies and a fake.
    const generated = readFileSync(
      join(root, "gen/acme/billing/v1/invoice_line_service_protomesh.d.ts"),
      "utf8",
    );
    expect(generated).toContain("export declare function createInvoiceLineServiceClient(");
    expect(generated).toContain("export declare function createInvoiceLineServiceFake(");
    expect(existsSync(join(root, "gen/acme/billing/v1/invoice_line_service_protomesh.js"))).toBe(
      true,
    );
    expect((await runProtomesh(["check-gen"], { cwd: root })).code).toBe(0);
    const again = await runProtomesh(["new", "service", "acme.billing.v1.InvoiceLineService"], {
      cwd: root,
    });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("refusing to overwrite");
  });

  it("a lint finding fails lint with the rule named, exit 1", async () => {
    const root = tempDir();
    expect((await runProtomesh(["init", root])).code).toBe(0);
    const path = join(root, "proto/acme/greeter/v1/greeter_service.proto");
    writeFileSync(
      path,
      readFileSync(path, "utf8").replace(/\/\/ Greeter is the record[^\n]*\n/, ""),
    );
    const run = await runProtomesh(["lint"], { cwd: root });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /greeter_service.proto:\d+:\d+:Message "Greeter" should have a non-empty comment/,
    );
  });

  it("rejects a service name buf would not accept, exit 2", async () => {
    const run = await runProtomesh(["new", "service", "Acme.Order.OrderService"], {
      cwd: tempDir(),
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("is not <org>.<domain>.v<N>.<Name>Service");
    const kind = await runProtomesh(["new", "client", "acme.order.v1.OrderService"]);
    expect(kind.code).toBe(2);
  });
});

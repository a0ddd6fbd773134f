import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { create, createFileRegistry, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { createGateway } from "../../src/gateway/index.js";
import { createProtomeshPlugin } from "../../src/plugin/index.js";
import { expectGolden, lineDiff } from "./support/golden.js";
import { compileProtos, generatorRequest, readProtoTree } from "./support/plugin-request.js";

const fixtures = resolve(import.meta.dirname, "fixtures/golden");
const goldens = resolve(import.meta.dirname, "golden");
const repoRoot = resolve(import.meta.dirname, "../..");
const protoFiles = compileProtos(readProtoTree(fixtures));
const toGenerate = ["acme/shop/v1/money.proto", "acme/shop/v1/shop.proto"];

function generate(parameter: string) {
  const warnings: string[] = [];
  const plugin = createProtomeshPlugin({ reporter: { warn: (line) => warnings.push(line) } });
  const response = plugin.run(generatorRequest(protoFiles, toGenerate, parameter));
  return { response, warnings };
}

describe("protoc-gen-protomesh golden output", () => {
  it("writes one *_protomesh.ts per file with services and one OpenAPI document per package, matching the golden files", () => {
    const { response, warnings } = generate("target=ts,import_extension=js");
    expect(response.error ?? "").toBe("");
    expect(warnings).toEqual([]);
    expect(response.file.map((f) => f.name)).toEqual([
      "acme/shop/v1/shop_protomesh.ts",
      "openapi/acme/shop/v1/openapi.json",
    ]);
    for (const file of response.file) {
      expectGolden(join(goldens, `${file.name}.golden`), file.content);
    }
  });

  it("is deterministic: the same request gives byte-identical files", () => {
    const first = generate("target=ts,import_extension=js").response.file.map((f) => f.content);
    const second = generate("target=ts,import_extension=js").response.file.map((f) => f.content);
    expect(second).toEqual(first);
  });

  it("is formatted: Biome leaves the output unchanged", () => {
    const [file] = generate("target=ts,import_extension=js").response.file;
    if (!file) throw new Error("nothing generated");
    const formatted = spawnSync(
      join(repoRoot, "node_modules/.bin/biome"),
      ["format", "--stdin-file-path=src/generated.ts"],
      { cwd: repoRoot, input: file.content, encoding: "utf8" },
    );
    expect(formatted.status, formatted.stderr).toBe(0);
    expect(lineDiff(file.content, formatted.stdout)).not.toMatch(/^[-+] /m);
  });

  it("formats the OpenAPI document as Biome does, and heads it with its source", () => {
    const doc = generate("target=ts").response.file.find((f) => f.name.endsWith(".json"));
    if (!doc) throw new Error("no OpenAPI document");
    const formatted = spawnSync(
      join(repoRoot, "node_modules/.bin/biome"),
      ["format", "--stdin-file-path=generated.json"],
      { cwd: repoRoot, input: doc.content, encoding: "utf8" },
    );
    expect(formatted.status, formatted.stderr).toBe(0);
    expect(lineDiff(doc.content, formatted.stdout)).not.toMatch(/^[-+] /m);
    const json = JSON.parse(doc.content);
    expect(json.openapi).toBe("3.1.0");
    expect(json.info).toMatchObject({ title: "acme.shop.v1", version: "v1" });
    expect(json["x-protomesh-source"]).toEqual({
      generator: expect.stringMatching(/^protoc-gen-protomesh v\d+\.\d+\.\d+$/),
      files: ["acme/shop/v1/money.proto", "acme/shop/v1/shop.proto"],
    });
  });

  it("documents what the gateway serves: the same paths and schemas as its /openapi.json", async () => {
    const doc = generate("target=ts").response.file.find((f) => f.name.endsWith(".json"));
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: protoFiles }));
    const services = ["CatalogService", "CartService"].map(
      (name) => registry.getService(`acme.shop.v1.${name}`) as DescService,
    );
    const gateway = createGateway({
      upstreams: [{ services, baseUrl: "http://127.0.0.1:1" }],
      logger: false,
    });
    const { url } = await gateway.listen();
    try {
      const served = (await (await fetch(`${url}/openapi.json`)).json()) as Record<string, unknown>;
      const generated = JSON.parse(doc?.content ?? "{}") as Record<string, unknown>;
      // PutProduct has a rule but is INTERNAL: neither the gateway nor the document has it.
      expect(Object.keys(generated.paths as object)).not.toContain("/v1/products/{product_id}:put");
      expect(JSON.stringify(generated.paths)).not.toContain("PutProduct");
      expect(generated.paths).toEqual(served.paths);
      expect(generated.components).toEqual(served.components);
    } finally {
      await gateway.close();
    }
  });

  it("writes the documents where the openapi option says, or none", () => {
    const names = (parameter: string) => generate(parameter).response.file.map((f) => f.name);
    expect(names("target=ts,openapi=api/docs/")).toContain("api/docs/acme/shop/v1/openapi.json");
    expect(names("target=ts,openapi=none")).toEqual(["acme/shop/v1/shop_protomesh.ts"]);
  });

  it("imports the runtime from the option's path: a package name or a relative directory", () => {
    const packaged = generate("target=ts").response.file[0]?.content ?? "";
    expect(packaged).toContain('import { createClient } from "protomesh";');
    expect(packaged).toContain('import { createServiceFake } from "protomesh/testing";');
    const local = generate("target=ts,import_extension=js,runtime=./../src").response.file[0];
    expect(local?.content).toContain('import { createClient } from "../../../../src/index.js";');
    expect(local?.content).toContain(
      'import { createServiceFake } from "../../../../src/testing/index.js";',
    );
  });

  it("heads each file with the source file it comes from", () => {
    const [file] = generate("target=ts").response.file;
    expect(file?.content.split("\n").slice(0, 2).join("\n")).toMatch(
      /^\/\/ @generated by protoc-gen-protomesh v\d+\.\d+\.\d+ with parameter "target=ts"\n\/\/ @generated from file acme\/shop\/v1\/shop\.proto \(package acme\.shop\.v1, syntax proto3\)$/,
    );
  });

  it.each([
    ["an unknown option", "target=ts,runtim=protomesh", 'unknown option "runtim"'],
    ["a repeated option", "target=ts,runtime=a,runtime=b", "option runtime given twice"],
    ["an empty value", "target=ts,runtime=", "option runtime needs a value"],
    ["an OpenAPI directory outside the output", "target=ts,openapi=../x", "option openapi needs"],
    ["an empty OpenAPI directory", "target=ts,openapi=", "option openapi needs"],
  ])("refuses %s", (_name, parameter, message) => {
    expect(() => generate(parameter)).toThrow(message);
  });
});

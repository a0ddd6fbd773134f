import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { resolvePolicy } from "../../src/index.js";

const gen = resolve(import.meta.dirname, "../../gen");
const modules = readdirSync(gen, { recursive: true, encoding: "utf8" })
  .filter((path) => path.endsWith("_protomesh.ts"))
  .sort();

describe("the generated policy constants agree with the runtime's resolver", () => {
  it("generates a module for the repository's services", () => {
    expect(modules).toContain(join("acme", "order", "v1", "order_service_protomesh.ts"));
    expect(modules).toContain(join("acme", "inventory", "v1", "inventory_service_protomesh.ts"));
  });

  it.each(modules)("%s", async (path) => {
    const generated = (await import(join(gen, path))) as Record<string, unknown>;
    const schemas = (await import(join(gen, path.replace(/_protomesh\.ts$/, "_pb.ts")))) as Record<
      string,
      unknown
    >;
    const services = Object.values(schemas).filter(
      (v): v is DescService =>
        typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "service",
    );
    expect(services.length).toBeGreaterThan(0);
    for (const service of services) {
      const name = `${service.name.charAt(0).toLowerCase()}${service.name.slice(1)}Policies`;
      const policies = generated[name] as Record<string, unknown> | undefined;
      expect(policies, `${path} exports ${name}`).toBeDefined();
      expect(Object.keys(policies ?? {})).toEqual(service.methods.map((m) => m.localName));
      for (const method of service.methods) {
        // What the runtime resolves from the descriptors protoc-gen-es embedded, with no
        // client or per-call options: exactly what createClient starts from.
        expect(policies?.[method.localName], `${service.typeName}.${method.name}`).toEqual(
          resolvePolicy({ method }),
        );
      }
    }
  });
});

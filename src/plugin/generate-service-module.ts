import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { GeneratedFile, ImportSymbol, Printable, Schema } from "@bufbuild/protoplugin";
import { safeIdentifier } from "@bufbuild/protoplugin";
import { resolvePolicy } from "../resilience/resolve-policy.js";
import { type PluginOptions, runtimeImports } from "./plugin-options.js";
import { codeMarker, policyLiteral } from "./policy-literal.js";

const lineWidth = 100;

/** The names generated for one service, e.g. `createOrderServiceClient`. */
function generatedNames(service: DescService) {
  const base = service.name;
  const lower = base.charAt(0).toLowerCase() + base.slice(1);
  return {
    client: safeIdentifier(`${base}Client`),
    createClient: safeIdentifier(`create${base}Client`),
    policies: safeIdentifier(`${lower}Policies`),
    fake: safeIdentifier(`${base}Fake`),
    createFake: safeIdentifier(`create${base}Fake`),
  };
}

/**
 * Writes `<file>_protomesh.ts` beside protoc-gen-es's `<file>_pb.ts` for every file with
 * services: per service a typed client factory, the resolved policy of every method as a
 * constant, and a typed fake. Files without services get nothing.
 */
export function generateServiceModules(schema: Schema<PluginOptions>): void {
  const imports = runtimeImports(schema.options);
  for (const file of schema.files) {
    if (file.services.length === 0) continue;
    const f = schema.generateFile(`${file.name}_protomesh.ts`);
    f.preamble(file);
    const symbols = {
      Client: f.import("Client", "@connectrpc/connect", true),
      Code: f.import("Code", "@connectrpc/connect"),
      CallPolicy: f.import("CallPolicy", imports.main, true),
      ClientOptions: f.import("ClientOptions", imports.main, true),
      createClient: f.import("createClient", imports.main),
      ServiceFake: f.import("ServiceFake", imports.testing, true),
      ServiceFakeOptions: f.import("ServiceFakeOptions", imports.testing, true),
      createServiceFake: f.import("createServiceFake", imports.testing),
    };
    file.services.forEach((service, i) => {
      if (i > 0) f.print();
      printService(f, service, symbols);
    });
  }
}

type Symbols = Record<
  | "Client"
  | "Code"
  | "CallPolicy"
  | "ClientOptions"
  | "createClient"
  | "ServiceFake"
  | "ServiceFakeOptions"
  | "createServiceFake",
  ImportSymbol
>;

function printService(f: GeneratedFile, service: DescService, s: Symbols) {
  const names = generatedNames(service);
  const svc = f.importSchema(service);
  const typeofService = ["typeof ", svc];
  const serviceName = service.typeName;

  f.print(f.jsDoc(`A client of ${serviceName}.\n\n@generated from service ${serviceName}`));
  f.print(f.export("type", names.client), " = ", s.Client, "<", ...typeofService, ">;");
  f.print();
  f.print(
    f.jsDoc(
      `Creates a client of ${serviceName}, thin over createClient: every call\n` +
        `follows its method's call policy (see ${names.policies}).`,
    ),
  );
  printFunction(
    f,
    names.createClient,
    ["options: ", s.ClientOptions, "<", ...typeofService, ">"],
    [names.client],
    ["  return ", s.createClient, "(", svc, ", options);"],
  );
  f.print();

  f.print(
    f.jsDoc(
      `The call policy of every ${service.name} method as the contract resolves it (library\n` +
        "defaults < the service's default_policy < the method's policy), before any client or\n" +
        "per-call options: a policy change in the .proto shows up here in review.",
    ),
  );
  f.print(f.export("const", names.policies), ": {");
  f.print("  readonly [M in keyof (", ...typeofService, ')["method"]]: ', s.CallPolicy, ";");
  f.print("} = {");
  for (const method of service.methods) {
    const comment = methodSummary(method);
    f.print("  /** ", comment, " */");
    const literal = policyLiteral(resolvePolicy({ method }), "  ");
    f.print(...withCode(`  ${method.localName}: ${literal},`, s.Code));
  }
  f.print("};");
  f.print();

  f.print(
    f.jsDoc(
      `A fake ${service.name} for consumer tests: see createServiceFake.\n\n@generated from service ${serviceName}`,
    ),
  );
  f.print(f.export("type", names.fake), " = ", s.ServiceFake, "<", ...typeofService, ">;");
  f.print();
  f.print(
    f.jsDoc(
      `A fake ${service.name} on Connect's router transport, with no network: supply only the\n` +
        "methods a test needs (the others answer Unimplemented); every call is recorded with its\n" +
        "request and headers; failures (a code, a delay, the first N calls) are injected per method.",
    ),
  );
  printFunction(
    f,
    names.createFake,
    ["options?: ", s.ServiceFakeOptions, "<", ...typeofService, ">"],
    [names.fake],
    ["  return ", s.createServiceFake, "(", svc, ", options);"],
  );
}

/** `CreateOrder: unary, not idempotent`: what the policy of a method depends on. */
function methodSummary(method: DescMethod): string {
  const idempotency =
    method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS
      ? "NO_SIDE_EFFECTS"
      : method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT
        ? "IDEMPOTENT"
        : "not idempotent";
  return `${method.name}: ${method.methodKind.replace("_", " ")}, ${idempotency}`;
}

/**
 * `export function name(param): ret {` on one line when it fits in the line width, else with
 * the parameter on its own line, as Biome lays it out.
 */
function printFunction(
  f: GeneratedFile,
  name: string,
  param: Printable[],
  ret: Printable[],
  body: Printable[],
): void {
  const width = ["export function ", name, "(", ...param, "): ", ...ret, " {"]
    .map((p) => printedLength(p))
    .reduce((a, b) => a + b, 0);
  if (width <= lineWidth) {
    f.print(f.export("function", name), "(", ...param, "): ", ...ret, " {");
  } else {
    f.print(f.export("function", name), "(");
    f.print("  ", ...param, ",");
    f.print("): ", ...ret, " {");
  }
  f.print(...body);
  f.print("}");
}

/** Length of a printable as it will appear: strings as themselves, symbols by their name. */
function printedLength(p: Printable): number {
  if (typeof p === "string") return p.length;
  if (typeof p === "object" && p !== null && "kind" in p && p.kind === "es_symbol")
    return p.name.length;
  return String(p).length;
}

/** Splits rendered text at each `Code` marker and prints the imported `Code` symbol there. */
function withCode(text: string, code: ImportSymbol): Printable[] {
  const parts = text.split(codeMarker);
  const out: Printable[] = [];
  parts.forEach((part, i) => {
    if (i > 0) out.push(code);
    out.push(part);
  });
  return out;
}

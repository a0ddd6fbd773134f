import { create, createFileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { checkHttpRules, createProtomeshPlugin, formatFinding } from "../../src/plugin/index.js";
import { compileProtos, generatorRequest } from "./support/plugin-request.js";

/**
 * One fixture per HTTP rule error (and the reachability warning). A service's methods are
 * written in `methods`; `@` marks where the finding must point and `^` where the message's
 * `{first}` points (both removed before compiling); `{package}` is the fixture's package.
 */
interface Case {
  readonly rule: string;
  readonly methods: string;
  readonly message: string;
  readonly severity?: "error" | "warning";
}

const rpc = (name: string, options: string, signature = "(Req) returns (Res)") =>
  `  // ${name} is a method of the fixture.\n  rpc ${name}${signature} {\n    ${options}\n  }`;
const publicPolicy = "option (protomesh.options.v1.policy) = {visibility: VISIBILITY_PUBLIC};";

const cases: readonly Case[] = [
  {
    rule: "a template that does not parse",
    methods: rpc("A", 'option (google.api.http) = {@get: "/v1/things/{id"};'),
    message: '{package}.S.A: path template "/v1/things/{id": expected "}" at position 14',
  },
  {
    rule: "a template without its leading /",
    methods: rpc("A", 'option (google.api.http) = {@post: "v1/things", body: "*"};'),
    message: '{package}.S.A: path template "v1/things": must start with / at position 0',
  },
  {
    rule: "a path variable naming a missing field",
    methods: rpc("A", 'option (google.api.http) = {@get: "/v1/things/{thing_id}"};'),
    message: '{package}.S.A: path variable {thing_id}: {package}.Req has no field "thing_id"',
  },
  {
    rule: "a path variable naming a missing nested field",
    methods: rpc("A", 'option (google.api.http) = {@get: "/v1/{owner.nope}/things"};'),
    message: '{package}.S.A: path variable {owner.nope}: {package}.Owner has no field "nope"',
  },
  {
    rule: "a path variable naming a repeated field",
    methods: rpc("A", 'option (google.api.http) = {@get: "/v1/things/{tags}"};'),
    message: "{package}.S.A: path variable {tags} must name a singular scalar or enum field",
  },
  {
    rule: "a path variable repeated in the template",
    methods: rpc("A", 'option (google.api.http) = {@get: "/v1/{id}/things/{id}"};'),
    message:
      '{package}.S.A: path template "/v1/{id}/things/{id}": variable {id} appears twice at position 20',
  },
  {
    rule: "a body field that does not exist",
    methods: rpc(
      "A",
      'option (google.api.http) = {\n      post: "/v1/things"\n      @body: "thing"\n    };',
    ),
    message: '{package}.S.A: body "thing" is not a field of {package}.Req',
  },
  {
    // buf records where each additional binding starts, not the fields inside it.
    rule: "a body field that does not exist, in an additional binding",
    methods: rpc(
      "A",
      'option (google.api.http) = {\n      post: "/v1/things"\n      body: "*"\n      @additional_bindings: {put: "/v1/things/{id}", body: "thing"}\n    };',
    ),
    message: '{package}.S.A: body "thing" is not a field of {package}.Req',
  },
  {
    rule: "a response_body field that does not exist",
    methods: rpc(
      "A",
      'option (google.api.http) = {\n      get: "/v1/things/{id}"\n      @response_body: "thing"\n    };',
    ),
    message: '{package}.S.A: response_body "thing" is not a field of {package}.Res',
  },
  {
    rule: "two rules on one verb and path",
    methods: [
      rpc("A", 'option (google.api.http) = {^get: "/v1/things/{id}"};'),
      rpc("B", 'option (google.api.http) = {@get: "/v1/things/{name}"};'),
    ].join("\n\n"),
    message:
      "{package}.S.A and {package}.S.B both bind GET /v1/things/{id} and /v1/things/{name} (the first is at {first})",
  },
  {
    // (an additional binding's location is where it starts, as above)
    rule: "two rules on one verb and path, in one method's additional bindings",
    methods: rpc(
      "A",
      'option (google.api.http) = {\n      ^get: "/v1/things/{id}"\n      @additional_bindings: {get: "/v1/things/{id}"}\n    };',
    ),
    message:
      "{package}.S.A and {package}.S.A both bind GET /v1/things/{id} (the first is at {first})",
  },
  {
    rule: "a rule on a client-streaming method",
    methods: rpc(
      "A",
      'option (google.api.http) = {@post: "/v1/things", body: "*"};',
      "(stream Req) returns (Res)",
    ),
    message: "{package}.S.A: google.api.http supports unary and server-streaming methods only",
  },
  {
    rule: "a PUBLIC client-streaming method, which Connect in a browser cannot call",
    severity: "warning",
    methods: rpc("A", publicPolicy, "(stream Req) returns (Res)").replace("rpc A", "@rpc A"),
    message:
      "A: PUBLIC, but a browser cannot reach it: client streaming needs HTTP/2 end to end and the method has no google.api.http rule",
  },
];

/** The fixture's text and where its markers were (1-based, as protoc reports). */
function fixture(c: Case, index: number) {
  const pkg = `httpcases.c${index}.v1`;
  const text = [
    'syntax = "proto3";',
    "",
    `package ${pkg};`,
    "",
    'import "google/api/annotations.proto";',
    'import "protomesh/options/v1/options.proto";',
    "",
    "// S is a fixture.",
    "service S {",
    c.methods,
    "}",
    "",
    "// Req is a request.",
    "message Req {",
    "  // An id.",
    "  string id = 1;",
    "  // A name.",
    "  string name = 2;",
    "  // Tags.",
    "  repeated string tags = 3;",
    "  // The owner.",
    "  Owner owner = 4;",
    "}",
    "",
    "// Owner owns things.",
    "message Owner {",
    "  // An id.",
    "  string id = 1;",
    "}",
    "",
    "// Res is a response.",
    "message Res {",
    "  // A name.",
    "  string name = 1;",
    "}",
    "",
  ].join("\n");
  const path = `httpcases/c${index}/v1/s.proto`;
  const locate = (marker: string, source: string) => {
    const at = source.indexOf(marker);
    if (at < 0) return undefined;
    const before = source.slice(0, at).split("\n");
    return `${path}:${before.length}:${(before.at(-1) ?? "").length + 1}`;
  };
  // Each marker's position in the text with the other marker removed.
  const at = locate("@", text.replace("^", ""));
  if (!at) throw new Error(`fixture ${c.rule} has no @ marker`);
  const first = locate("^", text.replace("@", ""));
  return {
    path,
    at,
    text: text.replace("@", "").replace("^", ""),
    message: c.message.replaceAll("{package}", pkg).replace("{first}", first ?? "?"),
  };
}

const fixtures = cases.map((c, i) => ({ c, ...fixture(c, i) }));
const protoFiles = compileProtos(Object.fromEntries(fixtures.map((f) => [f.path, f.text])));

function run(paths: readonly string[]) {
  const warnings: string[] = [];
  const plugin = createProtomeshPlugin({ reporter: { warn: (line) => warnings.push(line) } });
  const response = plugin.run(generatorRequest(protoFiles, paths, "target=ts"));
  return { response, warnings };
}

describe("HTTP rule errors at generation time", () => {
  it.each(fixtures)("$c.rule", ({ c, path, at, message }) => {
    const { response, warnings } = run([path]);
    if (c.severity === "warning") {
      expect(warnings).toEqual([`${at}: warning: ${message}`]);
      expect(response.error ?? "").toBe("");
      expect(response.file.map((f) => f.name)).toEqual([path.replace(".proto", "_protomesh.ts")]);
    } else {
      expect(warnings).toEqual([]);
      expect(response.error).toBe(`${at}: ${message}`);
      // Generation fails whole: no TypeScript and no OpenAPI document, so buf writes nothing.
      expect(response.file).toEqual([]);
    }
  });

  it("reports every bad rule of a run, one line each, in file order", () => {
    const paths = fixtures.filter((f) => f.c.severity !== "warning").map((f) => f.path);
    const lines = (run(paths).response.error ?? "").split("\n");
    expect(lines).toHaveLength(paths.length);
    expect(lines.map((l) => l.split(":")[0])).toEqual([...paths].sort());
  });
});

describe("checkHttpRules", () => {
  it("gives the plugin's findings on its own, for another tool to run", () => {
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: protoFiles }));
    const paths = fixtures.filter((f) => f.c.severity !== "warning").map((f) => f.path);
    const files = paths.map((p) => registry.getFile(p)).filter((f) => f !== undefined);
    expect(files).toHaveLength(paths.length);
    const lines = checkHttpRules(files).map(formatFinding).sort();
    expect(lines).toEqual((run(paths).response.error ?? "").split("\n").sort());
  });
});

describe("reachability over Connect", () => {
  // The gateway's Connect and gRPC-Web handlers serve unary and server-streaming methods (what
  // connect-web can call from a browser); client and bidi streams are reachable only over
  // gRPC on HTTP/2, so a PUBLIC one is a warning. A PUBLIC server stream with no rule is fine.
  it("does not warn about a PUBLIC unary or server-streaming method without an HTTP rule", () => {
    const files = compileProtos({
      "reach/v1/r.proto": [
        'syntax = "proto3";',
        "package reach.v1;",
        'import "protomesh/options/v1/options.proto";',
        "// R is a fixture.",
        "service R {",
        "  option (protomesh.options.v1.default_policy) = {visibility: VISIBILITY_PUBLIC};",
        "  // U is unary.",
        "  rpc U(M) returns (M);",
        "  // W streams out.",
        "  rpc W(M) returns (stream M);",
        "}",
        "// M is a message.",
        "message M {}",
        "",
      ].join("\n"),
    });
    const warnings: string[] = [];
    const plugin = createProtomeshPlugin({ reporter: { warn: (line) => warnings.push(line) } });
    const response = plugin.run(generatorRequest(files, ["reach/v1/r.proto"], "target=ts"));
    expect(response.error ?? "").toBe("");
    expect(warnings).toEqual([]);
  });
});

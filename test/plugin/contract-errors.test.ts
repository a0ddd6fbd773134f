import { describe, expect, it } from "vitest";
import { createProtomeshPlugin } from "../../src/plugin/index.js";
import { compileProtos, generatorRequest } from "./support/plugin-request.js";

/**
 * One fixture per contract rule. `@` in a body marks where the finding must point (it is
 * removed before compiling); the expected message follows the location, as protoc prints it.
 */
interface Case {
  readonly rule: string;
  readonly body: string;
  readonly message: string;
  readonly severity?: "error" | "warning";
  /** The service's own options, above the method. */
  readonly service?: string;
}

const cases: readonly Case[] = [
  {
    rule: "retry on a method that is not idempotent",
    body: "option (protomesh.options.v1.policy) = {retry: {@max_attempts: 3}};",
    message:
      "A: retry needs idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS, or retry.allow_non_idempotent when the server de-duplicates",
  },
  {
    rule: "hedging on a method that is not idempotent",
    body: "option (protomesh.options.v1.policy) = {hedging: {@max_attempts: 2}};",
    message:
      "A: hedging needs idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS: a hedged call runs twice",
  },
  {
    rule: "hedging inherited from the service on a method that is not idempotent",
    service: "option (protomesh.options.v1.default_policy) = {hedging: {@max_attempts: 2}};",
    body: "",
    message:
      "A: hedging needs idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS: a hedged call runs twice",
  },
  {
    rule: "hedging together with retry",
    body: "option idempotency_level = IDEMPOTENT;\n    option (protomesh.options.v1.policy) = {\n      retry: {max_attempts: 2}\n      hedging: {@max_attempts: 2}\n    };",
    message: "A: hedging replaces retry: set one of them in a policy, not both",
  },
  {
    rule: "a zero timeout",
    body: "option (protomesh.options.v1.policy) = {timeout: {@seconds: 0}};",
    message: "A: timeout must be more than 0s and at most 1h, got 0s",
  },
  {
    rule: "a negative timeout",
    body: "option (protomesh.options.v1.policy) = {timeout: {@seconds: -1}};",
    message: "A: timeout must be more than 0s and at most 1h, got -1s",
  },
  {
    rule: "a zero timeout on the service, reported once",
    service: "option (protomesh.options.v1.default_policy) = {timeout: {@seconds: 0}};",
    body: "",
    message: "S: timeout must be more than 0s and at most 1h, got 0s",
  },
  {
    rule: "a timeout over 1 hour",
    service: "option (protomesh.options.v1.default_policy) = {timeout: {@seconds: 3601}};",
    body: "",
    message: "S: timeout must be more than 0s and at most 1h, got 3601s",
  },
  {
    rule: "a per-attempt timeout longer than the timeout",
    body: "option (protomesh.options.v1.policy) = {\n      timeout: {seconds: 1}\n      per_attempt_timeout: {@seconds: 2}\n    };",
    message: "A: per_attempt_timeout (2s) is longer than the timeout (1s)",
  },
  {
    rule: "a per-attempt timeout longer than the default timeout",
    body: "option (protomesh.options.v1.policy) = {per_attempt_timeout: {@seconds: 11}};",
    message: "A: per_attempt_timeout (11s) is longer than the timeout (10s)",
  },
  {
    rule: "max_attempts 0",
    body: "option idempotency_level = IDEMPOTENT;\n    option (protomesh.options.v1.policy) = {retry: {@max_attempts: 0}};",
    message: "A: retry.max_attempts must be within 1..10, got 0",
  },
  {
    rule: "max_attempts over 10",
    body: "option idempotency_level = IDEMPOTENT;\n    option (protomesh.options.v1.policy) = {retry: {@max_attempts: 11}};",
    message: "A: retry.max_attempts must be within 1..10, got 11",
  },
  {
    rule: "hedging max_attempts 1",
    body: "option idempotency_level = IDEMPOTENT;\n    option (protomesh.options.v1.policy) = {hedging: {@max_attempts: 1}};",
    message: "A: hedging.max_attempts must be within 2..10, got 1",
  },
  ...[
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "UNAUTHENTICATED",
    "FAILED_PRECONDITION",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
  ].map(
    (code): Case => ({
      rule: `retryable ${code}`,
      body: `option idempotency_level = IDEMPOTENT;\n    option (protomesh.options.v1.policy) = {\n      retry: {@retryable_codes: [STATUS_CODE_UNAVAILABLE, STATUS_CODE_${code}]}\n    };`,
      message: `A: retry.retryable_codes may not contain ${code}: another attempt gets the same answer`,
    }),
  ),
  {
    rule: "a breaker that opens after 0 failures",
    body: "option (protomesh.options.v1.policy) = {circuit_breaker: {@consecutive_failures: 0}};",
    message: "A: circuit_breaker.consecutive_failures must be at least 1, got 0",
  },
  {
    rule: "a sampling breaker threshold over 1",
    body: "option (protomesh.options.v1.policy) = {\n      circuit_breaker: {sampling: {@threshold: 1.5}}\n    };",
    message: "A: circuit_breaker.sampling.threshold must be within (0, 1), got 1.5",
  },
  {
    rule: "a sampling breaker threshold of 0, written",
    body: "option (protomesh.options.v1.policy) = {\n      circuit_breaker: {sampling: {@threshold: 0}}\n    };",
    message: "A: circuit_breaker.sampling.threshold must be within (0, 1), got 0",
  },
  {
    rule: "anything else the runtime refuses (a backoff capped below its start)",
    body: "option idempotency_level = IDEMPOTENT;\n    option @(protomesh.options.v1.policy) = {\n      retry: {backoff: {initial: {seconds: 2}, max: {seconds: 1}}}\n    };",
    message:
      "A: invalid call policy for {package}.S/A: retry.backoff.maxMs (1000) must be ≥ initialMs (2000)",
  },
  {
    rule: "a PUBLIC method a browser cannot reach",
    severity: "warning",
    service: "option (protomesh.options.v1.default_policy) = {visibility: VISIBILITY_PUBLIC};",
    body: "",
    message:
      "A: PUBLIC, but a browser cannot reach it: bidi streaming needs HTTP/2 end to end and the method has no google.api.http rule",
  },
  {
    rule: "a bulkhead queue of 0, which proto3 cannot carry",
    severity: "warning",
    body: "option (protomesh.options.v1.policy) = {bulkhead: {max_concurrent: 4, @max_queue: 0}};",
    message:
      "A: bulkhead.max_queue: 0 is not on the wire in proto3, so it inherits the queue below it (default 100); a queue of 0 can only be set in code",
  },
];

/** The fixture's text, and where its `@` marker was (1-based, as protoc reports). */
function fixture(
  c: Case,
  index: number,
): { path: string; text: string; at: string; message: string } {
  const pkg = `cases.c${index}.v1`;
  const streaming = c.rule.startsWith("a PUBLIC");
  const lines = [
    'syntax = "proto3";',
    "",
    `package ${pkg};`,
    "",
    'import "protomesh/options/v1/options.proto";',
    "",
    "// S is a fixture.",
    "service S {",
    ...(c.service ? [`  ${c.service}`, ""] : []),
    "  // A is the method under test.",
    streaming ? "  @rpc A(stream Req) returns (stream Res) {" : "  rpc A(Req) returns (Res) {",
    ...(c.body ? [`    ${c.body}`] : []),
    "  }",
    "}",
    "",
    "// Req is a request.",
    "message Req {}",
    "",
    "// Res is a response.",
    "message Res {}",
    "",
  ];
  const text = lines.join("\n");
  const marker = text.indexOf("@");
  if (marker < 0) throw new Error(`fixture ${c.rule} has no @ marker`);
  const before = text.slice(0, marker).split("\n");
  const path = `cases/c${index}/v1/s.proto`;
  return {
    path,
    message: c.message.replace("{package}", pkg),
    text: text.replace("@", ""),
    at: `${path}:${before.length}:${(before.at(-1) ?? "").length + 1}`,
  };
}

const fixtures = cases.map((c, i) => ({ c, ...fixture(c, i) }));
const protoFiles = compileProtos(Object.fromEntries(fixtures.map((f) => [f.path, f.text])));

describe("contract errors at generation time", () => {
  it.each(fixtures)("$c.rule", ({ c, path, at, message }) => {
    const warnings: string[] = [];
    const plugin = createProtomeshPlugin({ reporter: { warn: (line) => warnings.push(line) } });
    const response = plugin.run(generatorRequest(protoFiles, [path], "target=ts"));
    if (c.severity === "warning") {
      expect(warnings).toEqual([`${at}: warning: ${message}`]);
      expect(response.error ?? "").toBe("");
      expect(response.file.map((f) => f.name)).toEqual([path.replace(".proto", "_protomesh.ts")]);
    } else {
      expect(response.error).toBe(`${at}: ${message}`);
      // Generation fails whole: not one file in the response, so buf writes nothing.
      expect(response.file).toEqual([]);
    }
  });

  it("reports every error of a run, one line each, in file order", () => {
    const paths = fixtures.filter((f) => f.c.severity !== "warning").map((f) => f.path);
    const plugin = createProtomeshPlugin({ reporter: { warn: () => {} } });
    const response = plugin.run(generatorRequest(protoFiles, paths, "target=ts"));
    const lines = (response.error ?? "").split("\n");
    expect(lines).toHaveLength(paths.length);
    expect(lines.map((l) => l.split(":")[0])).toEqual([...paths].sort());
  });
});

import { create, createFileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { comparePolicies, formatGateFinding } from "../../src/contract/policy-gate.js";
import { compileProtos } from "../plugin/support/plugin-request.js";

const path = "acme/gate/v1/gate.proto";

const released = `syntax = "proto3";

package acme.gate.v1;

import "google/api/annotations.proto";
import "protomesh/options/v1/options.proto";

// GateService is a fixture.
service GateService {
  // Get reads a thing.
  rpc Get(GetRequest) returns (GetResponse) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (google.api.http) = {get: "/v1/things/{id}"};
    option (protomesh.options.v1.policy) = {
      timeout: {seconds: 4}
      visibility: VISIBILITY_PUBLIC
      retry: {max_attempts: 3, retryable_codes: [STATUS_CODE_UNAVAILABLE, STATUS_CODE_ABORTED]}
    };
  }

  // Put writes a thing.
  rpc Put(PutRequest) returns (PutResponse) {
    option (google.api.http) = {
      post: "/v1/things"
      body: "*"
    };
  }

  // Watch follows a thing.
  rpc Watch(GetRequest) returns (stream GetResponse) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
}

// GetRequest names a thing.
message GetRequest {
  // The thing.
  string id = 1;
}

// GetResponse carries a thing.
message GetResponse {
  // The thing's name.
  string name = 1;
}

// PutRequest carries a thing.
message PutRequest {
  // The thing.
  string id = 1;
}

// PutResponse is empty.
message PutResponse {}
`;

/** Edits of the released contract: each `from` must be found; `@` marks the finding's place. */
type Edit = readonly [from: string, to: string];

interface Failing {
  readonly name: string;
  readonly edits: readonly Edit[];
  readonly rule: string;
  readonly method: string;
  readonly severity?: "warning";
  readonly message: string;
}

const failing: readonly Failing[] = [
  {
    name: "idempotency downgraded (NO_SIDE_EFFECTS → IDEMPOTENT)",
    edits: [
      [
        "option idempotency_level = NO_SIDE_EFFECTS;\n    option (google",
        "@option idempotency_level = IDEMPOTENT;\n    option (google",
      ],
    ],
    rule: "idempotency-downgrade",
    method: "Get",
    message:
      "idempotency_level went from NO_SIDE_EFFECTS to IDEMPOTENT: deployed clients keep retrying and hedging a call that is no longer safe to repeat",
  },
  {
    name: "idempotency removed (NO_SIDE_EFFECTS → unknown)",
    edits: [
      ["  rpc Get(", "  @rpc Get("],
      ["    option idempotency_level = NO_SIDE_EFFECTS;\n    option (google", "    option (google"],
    ],
    rule: "idempotency-downgrade",
    method: "Get",
    message:
      "idempotency_level went from NO_SIDE_EFFECTS to IDEMPOTENCY_UNKNOWN: deployed clients keep retrying and hedging a call that is no longer safe to repeat",
  },
  {
    name: "PUBLIC → INTERNAL",
    edits: [["visibility: VISIBILITY_PUBLIC", "@visibility: VISIBILITY_INTERNAL"]],
    rule: "visibility-narrowed",
    method: "Get",
    message:
      "visibility went from PUBLIC to INTERNAL: every browser and REST client calling it through the gateway breaks",
  },
  {
    name: "an HTTP binding removed",
    edits: [
      ["  rpc Get(", "  @rpc Get("],
      ['    option (google.api.http) = {get: "/v1/things/{id}"};\n', ""],
    ],
    rule: "http-binding-removed",
    method: "Get",
    message: "the HTTP binding GET /v1/things/{id} is gone: every REST client calling it breaks",
  },
  {
    name: "an HTTP path changed",
    edits: [
      [
        '(google.api.http) = {get: "/v1/things/{id}"}',
        '@(google.api.http) = {get: "/v1/items/{id}"}',
      ],
    ],
    rule: "http-binding-removed",
    method: "Get",
    message:
      "the HTTP binding GET /v1/things/{id} is gone (now GET /v1/items/{id}): every REST client calling it breaks",
  },
  {
    name: "an HTTP verb changed",
    edits: [
      [
        '(google.api.http) = {\n      post: "/v1/things"',
        '@(google.api.http) = {\n      put: "/v1/things"',
      ],
    ],
    rule: "http-binding-removed",
    method: "Put",
    message:
      'the HTTP binding POST /v1/things (body "*") is gone (now PUT /v1/things (body "*")): every REST client calling it breaks',
  },
  {
    name: "an HTTP body changed",
    edits: [
      [
        '(google.api.http) = {\n      post: "/v1/things"\n      body: "*"',
        '@(google.api.http) = {\n      post: "/v1/things"\n      body: "id"',
      ],
    ],
    rule: "http-binding-changed",
    method: "Put",
    message:
      'the body of POST /v1/things (body "*") changed from "*" to "id": REST clients send the request where the gateway no longer reads it',
  },
  {
    name: "a timeout shrunk below half",
    edits: [["timeout: {seconds: 4}", "timeout: {@seconds: 1}"]],
    rule: "timeout-shrunk",
    method: "Get",
    message:
      "the timeout shrank from 4000 ms to 1000 ms, below half: deployed callers tuned to the old deadline fail",
  },
  {
    name: "a timeout set on a stream that had none",
    edits: [
      [
        "  rpc Watch(GetRequest) returns (stream GetResponse) {\n",
        "  rpc Watch(GetRequest) returns (stream GetResponse) {\n    option (protomesh.options.v1.policy) = {timeout: {@seconds: 60}};\n",
      ],
    ],
    rule: "timeout-shrunk",
    method: "Watch",
    message:
      "a 60000 ms timeout where there was none: deployed callers that wait longer are cut off",
  },
  {
    name: "a retryable code removed while max_attempts > 1 stays (a warning)",
    edits: [
      [
        "retry: {max_attempts: 3, retryable_codes: [STATUS_CODE_UNAVAILABLE, STATUS_CODE_ABORTED]}",
        "retry: {@max_attempts: 3, retryable_codes: [STATUS_CODE_UNAVAILABLE]}",
      ],
    ],
    rule: "retryable-code-removed",
    method: "Get",
    severity: "warning",
    message:
      "Aborted no longer retried while max_attempts stays 3: callers see failures they used to ride out",
  },
];

const passing: readonly { name: string; edits: readonly Edit[]; extra?: Record<string, string> }[] =
  [
    { name: "no change", edits: [] },
    {
      name: "a new field, method and message (additive)",
      edits: [
        ["  string name = 1;\n}", "  string name = 1;\n  // Its colour.\n  string colour = 2;\n}"],
        [
          "  // Watch follows",
          "  // Drop removes a thing.\n  rpc Drop(GetRequest) returns (PutResponse);\n\n  // Watch follows",
        ],
      ],
    },
    {
      name: "an idempotency upgrade (unknown → IDEMPOTENT)",
      edits: [
        [
          "  rpc Put(PutRequest) returns (PutResponse) {\n",
          "  rpc Put(PutRequest) returns (PutResponse) {\n    option idempotency_level = IDEMPOTENT;\n",
        ],
      ],
    },
    {
      name: "INTERNAL → PUBLIC",
      edits: [
        [
          "  rpc Put(PutRequest) returns (PutResponse) {\n",
          "  rpc Put(PutRequest) returns (PutResponse) {\n    option (protomesh.options.v1.policy) = {visibility: VISIBILITY_PUBLIC};\n",
        ],
      ],
    },
    {
      name: "a new binding",
      edits: [
        [
          '{get: "/v1/things/{id}"}',
          '{\n      get: "/v1/things/{id}"\n      additional_bindings: {get: "/v1/items/{id}"}\n    }',
        ],
      ],
    },
    {
      name: "a timeout shrunk to exactly half",
      edits: [["timeout: {seconds: 4}", "timeout: {seconds: 2}"]],
    },
    { name: "a timeout grown", edits: [["timeout: {seconds: 4}", "timeout: {seconds: 30}"]] },
    {
      name: "a retryable code added",
      edits: [["STATUS_CODE_ABORTED]", "STATUS_CODE_ABORTED, STATUS_CODE_RESOURCE_EXHAUSTED]"]],
    },
    {
      name: "retries turned off with max_attempts 1 (no code removal warning)",
      edits: [
        [
          "retry: {max_attempts: 3, retryable_codes: [STATUS_CODE_UNAVAILABLE, STATUS_CODE_ABORTED]}",
          "retry: {max_attempts: 1}",
        ],
      ],
    },
    {
      name: "a new major package beside v1, with every rule broken",
      edits: [],
      extra: {
        "acme/gate/v2/gate.proto": released
          .replace("package acme.gate.v1;", "package acme.gate.v2;")
          .replace(
            "option idempotency_level = NO_SIDE_EFFECTS;\n    option (google",
            "option (google",
          )
          .replace("VISIBILITY_PUBLIC", "VISIBILITY_INTERNAL"),
      },
    },
  ];

function apply(edits: readonly Edit[]): { text: string; at: string } {
  let text = released;
  for (const [from, to] of edits) {
    expect(text.includes(from), `edit applies: ${from}`).toBe(true);
    text = text.replace(from, to);
  }
  const marker = text.indexOf("@");
  const before = text.slice(0, marker).split("\n");
  const at = marker < 0 ? "" : `${path}:${before.length}:${(before.at(-1) ?? "").length + 1}`;
  return { text: text.replace("@", ""), at };
}

function registry(sources: Record<string, string>) {
  return createFileRegistry(create(FileDescriptorSetSchema, { file: compileProtos(sources) }));
}

/** One build for every case: each case gets its own package name, so they never collide. */
function variant(text: string, index: number): string {
  return text.replaceAll("acme.gate.", `acme.gate${index}.`);
}

const releasedSources: Record<string, string> = {};
const currentSources: Record<string, string> = {};
const failingCases = failing.map((c, i) => {
  const { text, at } = apply(c.edits);
  const file = `acme/gate${i}/v1/gate.proto`;
  releasedSources[file] = variant(released, i);
  currentSources[file] = variant(text, i);
  return { ...c, index: i, at: at.replace(path, file) };
});
const passingCases = passing.map((c, j) => {
  const i = failing.length + j;
  const file = `acme/gate${i}/v1/gate.proto`;
  releasedSources[file] = variant(released, i);
  currentSources[file] = variant(apply(c.edits).text, i);
  for (const [extraPath, text] of Object.entries(c.extra ?? {})) {
    currentSources[extraPath.replace("acme/gate/", `acme/gate${i}/`)] = variant(text, i);
  }
  return { ...c, index: i };
});
const before = registry(releasedSources);
const after = registry(currentSources);
const findings = comparePolicies(before, after);

describe("the contract-policy gate", () => {
  it.each(failingCases)("refuses $name", ({ index, rule, method, severity, message, at }) => {
    const mine = findings.filter((f) => f.method.startsWith(`acme.gate${index}.`));
    expect(mine.map(formatGateFinding)).toEqual([
      `${at}: ${severity === "warning" ? "warning: " : ""}acme.gate${index}.v1.GateService.${method}: ${rule}: ${message}`,
    ]);
    expect(mine[0]?.severity).toBe(severity ?? "error");
  });

  it.each(passingCases)("passes $name", ({ index }) => {
    expect(findings.filter((f) => f.method.startsWith(`acme.gate${index}.`))).toEqual([]);
  });

  it("skips unstable packages (v1alpha1), as buf does", () => {
    const alpha = (text: string) => text.replaceAll("acme.gate.v1", "acme.gate.v1alpha1");
    const changed = apply(failing[0]?.edits ?? []).text;
    expect(
      comparePolicies(
        registry({ "acme/gate/v1alpha1/gate.proto": alpha(released) }),
        registry({ "acme/gate/v1alpha1/gate.proto": alpha(changed) }),
      ),
    ).toEqual([]);
  });
});

/**
 * Writes a synthetic buf module for `npm run bench -- --suite generate`: by default 200
 * services × 10 methods, one file and package per service, each method with its own request
 * and response, an idempotency level, a call policy and (on reads) a google.api.http rule:
 * the shape of a large company's contracts, for timing generation and the policy gate.
 *
 *   npx tsx bench/write-synthetic-module.ts <dir> [services] [methods]
 */
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export interface SyntheticModuleOptions {
  /** Services to write. Default 200. */
  readonly services?: number;
  /** Methods per service. Default 10. */
  readonly methods?: number;
}

const repoRoot = resolve(import.meta.dirname, "..");

/**
 * Writes `buf.yaml` and `proto/` into `dir` (with this repository's options.proto and
 * google/api annotations) and returns the `.proto` paths written, relative to `proto/`.
 */
export function writeSyntheticModule(dir: string, options: SyntheticModuleOptions = {}): string[] {
  const services = options.services ?? 200;
  const methods = options.methods ?? 10;
  writeFileSync(join(dir, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\n");
  for (const shared of ["protomesh/options", "google/api"]) {
    cpSync(join(repoRoot, "proto", shared), join(dir, "proto", shared), { recursive: true });
  }
  const paths: string[] = [];
  for (let s = 0; s < services; s++) {
    const id = String(s).padStart(3, "0");
    const path = `synthetic/s${id}/v1/service_${id}.proto`;
    mkdirSync(join(dir, "proto", `synthetic/s${id}/v1`), { recursive: true });
    writeFileSync(join(dir, "proto", path), serviceFile(id, methods));
    paths.push(path);
  }
  return paths;
}

function serviceFile(id: string, methods: number): string {
  const lines = [
    'syntax = "proto3";',
    "",
    `package synthetic.s${id}.v1;`,
    "",
    'import "google/api/annotations.proto";',
    'import "protomesh/options/v1/options.proto";',
    "",
    `// Service${id} is synthetic.`,
    `service Service${id} {`,
    "  option (protomesh.options.v1.default_policy) = {",
    "    timeout: {seconds: 5}",
    "    visibility: VISIBILITY_PUBLIC",
    "  };",
    "",
  ];
  for (let m = 0; m < methods; m++) {
    const name = `Method${String(m).padStart(2, "0")}`;
    const read = m % 2 === 0;
    lines.push(
      `  // ${name} is synthetic.`,
      `  rpc ${name}(${name}Request) returns (${name}Response) {`,
      `    option idempotency_level = ${read ? "NO_SIDE_EFFECTS" : "IDEMPOTENT"};`,
      read
        ? `    option (google.api.http) = {get: "/v1/s${id}/things/{thing_id}/m${m}"};`
        : `    option (google.api.http) = {\n      post: "/v1/s${id}/things/m${m}"\n      body: "*"\n    };`,
      "    option (protomesh.options.v1.policy) = {",
      `      timeout: {seconds: ${1 + (m % 4)}}`,
      `      retry: {max_attempts: ${2 + (m % 3)}, retryable_codes: [STATUS_CODE_UNAVAILABLE]}`,
      "    };",
      "  }",
      "",
    );
  }
  lines.push("}", "");
  for (let m = 0; m < methods; m++) {
    const name = `Method${String(m).padStart(2, "0")}`;
    lines.push(
      `// ${name}Request is synthetic.`,
      `message ${name}Request {`,
      "  // The thing.",
      "  string thing_id = 1;",
      "  // A payload.",
      "  bytes payload = 2;",
      "}",
      "",
      `// ${name}Response is synthetic.`,
      `message ${name}Response {`,
      "  // The thing.",
      "  string thing_id = 1;",
      "  // A count.",
      "  uint64 count = 2;",
      "}",
      "",
    );
  }
  return lines.join("\n");
}

if (import.meta.filename === resolve(process.argv[1] ?? "")) {
  const [dir, services, methods] = process.argv.slice(2);
  if (!dir) {
    console.error("usage: npx tsx bench/write-synthetic-module.ts <dir> [services] [methods]");
    process.exit(1);
  }
  mkdirSync(dir, { recursive: true });
  const written = writeSyntheticModule(dir, {
    services: services ? Number(services) : 200,
    methods: methods ? Number(methods) : 10,
  });
  console.log(`wrote ${written.length} files into ${dir}`);
}

import type { Verb } from "./verb.js";

/** A verb as the top-level help lists it, with its module loaded on demand. */
export interface VerbEntry {
  readonly name: string;
  /** One line for `protomesh --help`. */
  readonly summary: string;
  readonly load: () => Promise<Verb>;
}

/**
 * Every verb, in the order `protomesh --help` lists them. To add one: write
 * `verbs/<name>-verb.ts` exporting a `Verb`, and add one line here.
 */
export const verbTable: readonly VerbEntry[] = [
  {
    name: "init",
    summary: "scaffold a contracts repository (buf config, an example service, CI script)",
    load: async () => (await import("./verbs/init-verb.js")).initVerb,
  },
  {
    name: "new",
    summary: "new service <org>.<domain>.v1.<Name>Service: a contract, handler and test stub",
    load: async () => (await import("./verbs/new-verb.js")).newVerb,
  },
  {
    name: "generate",
    summary: "run buf generate with the local plugins (buf.gen.yaml)",
    load: async () => (await import("./verbs/generate-verb.js")).generateVerb,
  },
  {
    name: "lint",
    summary: "run buf lint on the contracts",
    load: async () => (await import("./verbs/lint-verb.js")).lintVerb,
  },
  {
    name: "breaking",
    summary: "fail if proto/ breaks the released contracts (or --against REF)",
    load: async () => (await import("./verbs/breaking-verb.js")).breakingVerb,
  },
  {
    name: "release",
    summary: "record proto/ as the released contracts (contracts/released.binpb)",
    load: async () => (await import("./verbs/release-verb.js")).releaseVerb,
  },
  {
    name: "check-gen",
    summary: "fail if the generated code differs from a fresh buf generate",
    load: async () => (await import("./verbs/check-gen-verb.js")).checkGenVerb,
  },
  {
    name: "policies",
    summary: "print every method's effective call policy, from the sources or a server",
    load: async () => (await import("./verbs/policies-verb.js")).policiesVerb,
  },
  {
    name: "call",
    summary: "call a method by server reflection: call <url> <pkg.Service/Method> [-d JSON]",
    load: async () => (await import("./verbs/call-verb.js")).callVerb,
  },
  {
    name: "list",
    summary: "list a server's services, or one service's methods, by reflection",
    load: async () => (await import("./verbs/list-verb.js")).listVerb,
  },
  {
    name: "describe",
    summary: "describe a service, method, message or enum by reflection",
    load: async () => (await import("./verbs/describe-verb.js")).describeVerb,
  },
  {
    name: "health",
    summary: "grpc.health.v1 check: exit 0 only when SERVING",
    load: async () => (await import("./verbs/health-verb.js")).healthVerb,
  },
];

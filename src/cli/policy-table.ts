import { type DescMethod, type FileRegistry, getOption, hasOption } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { http } from "../../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../../gen/google/api/http_pb.js";
import {
  isIdempotent,
  type MethodAuth,
  readMethodAuth,
  readMethodContract,
} from "../contract/index.js";
import type { CallPolicy } from "../resilience/call-policy.js";
import { resolvePolicy } from "../resilience/resolve-policy.js";

/** One method's effective contract policy, in words, as `protomesh policies` prints it. */
export interface PolicyRow {
  readonly method: string;
  readonly timeout: string;
  readonly attempts: string;
  readonly retryableCodes: string;
  readonly hedging: string;
  readonly breaker: string;
  readonly bulkhead: string;
  readonly visibility: string;
  /**
   * Who may call, from the contract's `auth` (see `MethodAuth`): `none`, `optional` (a token
   * sent must be valid), `authenticated`, or the scopes, roles and peer identities it needs
   * (`a+b` all of them, `a|b` any one). `default: authenticated`: a PUBLIC method with no
   * `auth` written, which a server enforces only when it is given auth options.
   */
  readonly auth: string;
  readonly route: string;
}

const columns: readonly [keyof PolicyRow, string][] = [
  ["method", "METHOD"],
  ["timeout", "TIMEOUT"],
  ["attempts", "ATTEMPTS"],
  ["retryableCodes", "RETRYABLE"],
  ["hedging", "HEDGING"],
  ["breaker", "BREAKER"],
  ["bulkhead", "BULKHEAD"],
  ["visibility", "VISIBILITY"],
  ["auth", "AUTH"],
  ["route", "REST ROUTE"],
];

/**
 * The policy of every method of every service in `registry` (sorted by name), as the
 * contract resolves it with the runtime's own resolver: library defaults < service
 * `default_policy` < method `policy`. A method whose policy is invalid says so in its row.
 */
export function policyRows(registry: FileRegistry): PolicyRow[] {
  const rows: PolicyRow[] = [];
  for (const file of registry.files) {
    for (const service of file.services) {
      for (const method of service.methods) rows.push(rowOf(method));
    }
  }
  return rows.sort((a, b) => a.method.localeCompare(b.method));
}

/** The rows as an aligned text table, with a footnote when a row needs one. */
export function formatPolicyTable(rows: readonly PolicyRow[]): string {
  const widths = columns.map(([key, title]) =>
    Math.max(title.length, ...rows.map((r) => r[key].length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const out = [
    line(columns.map(([, title]) => title)),
    ...rows.map((r) => line(columns.map(([k]) => r[k]))),
  ];
  const notes: string[] = [];
  if (rows.some((r) => r.attempts.endsWith("*")))
    notes.push("* not idempotent: retried only when the request was never sent");
  if (rows.some((r) => r.auth.startsWith("default: ")))
    notes.push(
      "default: no auth in the contract; a server enforces it only when given auth options",
    );
  if (notes.length > 0) out.push("", ...notes);
  return out.join("\n");
}

function rowOf(method: DescMethod): PolicyRow {
  const name = `${method.parent.typeName}/${method.name}`;
  const route = routesOf(method);
  const contract = readMethodContract(method);
  const auth = authOf(readMethodAuth(method, contract));
  let policy: CallPolicy;
  try {
    policy = resolvePolicy({ method, contract });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ...blankRow(name, route), auth, timeout: `invalid: ${reason}` };
  }
  const { retry } = policy;
  const retriesUnsafe = !isIdempotent(contract) && !retry.allowNonIdempotent;
  return {
    method: name,
    timeout: policy.timeoutMs === undefined ? "none" : ms(policy.timeoutMs),
    // Streams are never retried; hedging replaces retry.
    attempts:
      method.methodKind !== "unary" || policy.hedging || retry.maxAttempts === 1
        ? "1"
        : `${retry.maxAttempts}${retriesUnsafe ? "*" : ""}`,
    retryableCodes: retry.retryableCodes.map((c) => Code[c]).join(","),
    hedging: policy.hedging ? `${policy.hedging.maxAttempts} × ${ms(policy.hedging.delayMs)}` : "-",
    breaker: breakerOf(policy),
    bulkhead: policy.bulkhead
      ? `${policy.bulkhead.maxConcurrent} + ${policy.bulkhead.maxQueue} queued`
      : "-",
    visibility: policy.visibility,
    auth,
    route,
  };
}

function blankRow(method: string, route: string): PolicyRow {
  return {
    method,
    timeout: "",
    attempts: "",
    retryableCodes: "",
    hedging: "",
    breaker: "",
    bulkhead: "",
    visibility: "",
    auth: "",
    route,
  };
}

function authOf(auth: MethodAuth): string {
  if (!auth.authenticationRequired) return auth.explicit ? "optional" : "none";
  const join = (values: readonly string[], match: "any-of" | "all-of") =>
    values.join(match === "all-of" ? "+" : "|");
  const needs = [
    ...(auth.scopes.length > 0 ? [`scopes ${join(auth.scopes, auth.scopesMatch)}`] : []),
    ...(auth.roles.length > 0 ? [`roles ${join(auth.roles, auth.rolesMatch)}`] : []),
    ...(auth.identities.length > 0 ? [`peer ${join(auth.identities, "any-of")}`] : []),
  ];
  if (needs.length > 0) return needs.join(", ");
  return auth.explicit ? "authenticated" : "default: authenticated";
}

function breakerOf(policy: CallPolicy): string {
  const b = policy.breaker;
  if (!b) return "-";
  const t = b.trigger;
  const trigger =
    t.kind === "consecutive"
      ? `${t.failures} failures`
      : `${Math.round(t.threshold * 100)}% of ${ms(t.windowMs)}`;
  return `${trigger}, open ${ms(b.halfOpenAfterMs)}${b.scope === "method" ? ", per method" : ""}`;
}

function routesOf(method: DescMethod): string {
  if (!hasOption(method, http)) return "-";
  const rule = getOption(method, http);
  return [rule, ...rule.additionalBindings]
    .map(routeOf)
    .filter((r) => r !== "")
    .join(", ");
}

function routeOf(rule: HttpRule): string {
  const { pattern } = rule;
  if (pattern.case === undefined) return "";
  const [verb, path] =
    pattern.case === "custom"
      ? [pattern.value.kind.toUpperCase(), pattern.value.path]
      : [pattern.case.toUpperCase(), pattern.value];
  return `${verb} ${path}`;
}

function ms(value: number): string {
  if (value >= 1000 && value % 1000 === 0) return `${value / 1000}s`;
  return `${value}ms`;
}

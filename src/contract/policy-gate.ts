import { type DescMethod, type FileRegistry, getOption, hasOption } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { http } from "../../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../../gen/google/api/http_pb.js";
import { policy } from "../../gen/protomesh/options/v1/options_pb.js";
import type { CallPolicy } from "../resilience/call-policy.js";
// Imported from its module, not src/resilience/index.ts: the gate is a build-time tool that
// sits above the runtime, and must resolve policies with the very resolver clients use.
import { resolvePolicy } from "../resilience/resolve-policy.js";
import { type Idempotency, readMethodContract } from "./method-contract.js";
import {
  hasSource,
  methodOptionPath,
  methodPath,
  type SourceLocation,
  sourceLocation,
} from "./source-location.js";

/** The rules of the contract-policy gate; the README's table says what each protects. */
export type GateRule =
  | "idempotency-downgrade"
  | "visibility-narrowed"
  | "http-binding-removed"
  | "http-binding-changed"
  | "timeout-shrunk"
  | "retryable-code-removed"
  | "invalid-policy";

/** One policy change that breaks (error) or may hurt (warning) deployed consumers. */
export interface GateFinding {
  /** Where the method is written now. */
  readonly location: SourceLocation;
  /** Fully qualified, e.g. `acme.order.v1.OrderService.GetOrder`. */
  readonly method: string;
  readonly rule: GateRule;
  readonly severity: "error" | "warning";
  readonly message: string;
}

/** Which rules only warn: a removed retryable code makes clients give up sooner, no more. */
const warningRules: ReadonlySet<GateRule> = new Set(["retryable-code-removed"]);

/**
 * Compares the call policies and HTTP bindings of every method present in both the released
 * and the current contracts (buf breaking already refuses removed methods) and returns what
 * breaks a deployed consumer. Additive changes pass, and so do an idempotency upgrade,
 * INTERNAL → PUBLIC and a new binding. Packages ending in `alphaN`/`betaN` are unstable and
 * skipped, as buf's `ignore_unstable_packages` does. To break on purpose, publish a new major
 * package: its methods are new, so nothing is compared.
 */
export function comparePolicies(released: FileRegistry, current: FileRegistry): GateFinding[] {
  const findings: GateFinding[] = [];
  for (const file of current.files) {
    if (unstable(file.proto.package)) continue;
    for (const service of file.services) {
      const before = released.getService(service.typeName);
      if (!before) continue;
      for (const method of service.methods) {
        const old = before.methods.find((m) => m.name === method.name);
        if (old) findings.push(...compareMethod(old, method));
      }
    }
  }
  return findings;
}

/** `file.proto:line:col: Service.Method: rule: message`, `warning:` before a warning. */
export function formatGateFinding(finding: GateFinding): string {
  const { location: l } = finding;
  const where = l.line > 0 ? `${l.file}:${l.line}:${l.column}` : l.file;
  const warning = finding.severity === "warning" ? "warning: " : "";
  return `${where}: ${warning}${finding.method}: ${finding.rule}: ${finding.message}`;
}

function compareMethod(old: DescMethod, now: DescMethod): GateFinding[] {
  const out: GateFinding[] = [];
  const file = now.parent.file;
  // A finding points at the option it is about when written, else at the method.
  const add = (rule: GateRule, path: number[], message: string) =>
    out.push({
      location: sourceLocation(file, hasSource(file, path) ? path : methodPath(now)),
      method: `${now.parent.typeName}.${now.name}`,
      rule,
      severity: warningRules.has(rule) ? "warning" : "error",
      message,
    });

  const oldContract = readMethodContract(old);
  const newContract = readMethodContract(now);
  if (rank(newContract.idempotency) < rank(oldContract.idempotency))
    add(
      "idempotency-downgrade",
      methodOptionPath(now, idempotencyLevelField),
      `idempotency_level went from ${levelName(oldContract.idempotency)} to ${levelName(newContract.idempotency)}: deployed clients keep retrying and hedging a call that is no longer safe to repeat`,
    );
  if (oldContract.visibility === "public" && newContract.visibility === "internal")
    add(
      "visibility-narrowed",
      methodOptionPath(now, policy.number, visibilityField),
      "visibility went from PUBLIC to INTERNAL: every browser and REST client calling it through the gateway breaks",
    );

  const nowBindings = bindingsOf(now);
  for (const binding of bindingsOf(old)) {
    if (nowBindings.some((b) => sameBinding(b, binding))) continue;
    const samePath = nowBindings.find((b) => b.verb === binding.verb && b.path === binding.path);
    const at = methodOptionPath(now, http.number);
    if (samePath)
      add(
        "http-binding-changed",
        at,
        `the body of ${describe(binding)} changed from ${JSON.stringify(binding.body)} to ${JSON.stringify(samePath.body)}: REST clients send the request where the gateway no longer reads it`,
      );
    else
      add(
        "http-binding-removed",
        at,
        `the HTTP binding ${describe(binding)} is gone${nowBindings.length > 0 ? ` (now ${nowBindings.map(describe).join(", ")})` : ""}: every REST client calling it breaks`,
      );
  }

  let oldPolicy: CallPolicy;
  let newPolicy: CallPolicy;
  try {
    oldPolicy = resolvePolicy({ method: old, contract: oldContract });
    newPolicy = resolvePolicy({ method: now, contract: newContract });
  } catch (error) {
    add("invalid-policy", methodPath(now), error instanceof Error ? error.message : String(error));
    return out;
  }
  const policyAt = (field: number) => methodOptionPath(now, policy.number, field);
  const before = oldPolicy.timeoutMs;
  const after = newPolicy.timeoutMs;
  if (after !== undefined && (before === undefined || after < before / 2))
    add(
      "timeout-shrunk",
      policyAt(timeoutField),
      before === undefined
        ? `a ${after} ms timeout where there was none: deployed callers that wait longer are cut off`
        : `the timeout shrank from ${before} ms to ${after} ms, below half: deployed callers tuned to the old deadline fail`,
    );
  if (oldPolicy.retry.maxAttempts > 1 && newPolicy.retry.maxAttempts > 1) {
    const removed = oldPolicy.retry.retryableCodes.filter(
      (c) => !newPolicy.retry.retryableCodes.includes(c),
    );
    if (removed.length > 0)
      add(
        "retryable-code-removed",
        policyAt(retryField),
        `${removed.map((c) => Code[c]).join(", ")} no longer retried while max_attempts stays ${newPolicy.retry.maxAttempts}: callers see failures they used to ride out`,
      );
  }
  return out;
}

// Field numbers for source paths: MethodOptions.idempotency_level, CallPolicy.timeout/retry.
const idempotencyLevelField = 34;
const timeoutField = 1;
const retryField = 3;
const visibilityField = 5;

function rank(idempotency: Idempotency): number {
  return idempotency === "no-side-effects" ? 2 : idempotency === "idempotent" ? 1 : 0;
}

function levelName(idempotency: Idempotency): string {
  return idempotency === "no-side-effects"
    ? "NO_SIDE_EFFECTS"
    : idempotency === "idempotent"
      ? "IDEMPOTENT"
      : "IDEMPOTENCY_UNKNOWN";
}

interface Binding {
  readonly verb: string;
  readonly path: string;
  readonly body: string;
}

/** The raw `google.api.http` bindings of a method: its rule and the additional ones. */
function bindingsOf(method: DescMethod): Binding[] {
  if (!hasOption(method, http)) return [];
  const rule = getOption(method, http);
  return [rule, ...rule.additionalBindings].flatMap((r) => {
    const b = bindingOf(r);
    return b ? [b] : [];
  });
}

function bindingOf(rule: HttpRule): Binding | undefined {
  const { pattern } = rule;
  switch (pattern.case) {
    case undefined:
      return undefined;
    case "custom":
      return { verb: pattern.value.kind.toUpperCase(), path: pattern.value.path, body: rule.body };
    default:
      return { verb: pattern.case.toUpperCase(), path: pattern.value, body: rule.body };
  }
}

function sameBinding(a: Binding, b: Binding): boolean {
  return a.verb === b.verb && a.path === b.path && a.body === b.body;
}

function describe(b: Binding): string {
  return `${b.verb} ${b.path}${b.body ? ` (body ${JSON.stringify(b.body)})` : ""}`;
}

function unstable(pkg: string): boolean {
  return /(^|\.)v\d+(alpha|beta)\d*$/.test(pkg);
}

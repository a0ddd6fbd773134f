import {
  type DescFile,
  type DescMethod,
  type DescService,
  getOption,
  hasOption,
} from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { http } from "../../gen/google/api/annotations_pb.js";
import {
  type CallPolicy as CallPolicyProto,
  default_policy,
  policy,
  StatusCode,
} from "../../gen/protomesh/options/v1/options_pb.js";
import { isIdempotent, readMethodContract } from "../contract/index.js";
import {
  formatLocation,
  isWritten,
  methodOptionPath,
  methodPath,
  type SourceLocation,
  serviceOptionPath,
  sourceLocation,
} from "../contract/source-location.js";
import { defaultPolicy, defaultStreamingPolicy } from "../resilience/default-policy.js";
import { resolvePolicy } from "../resilience/resolve-policy.js";

/** An error fails generation; a warning is printed and generation goes on. */
export type Severity = "error" | "warning";

/** One thing wrong with a contract, where it is written. */
export interface ContractFinding {
  readonly location: SourceLocation;
  readonly severity: Severity;
  /** A stable id, e.g. `timeout-range`; the README's table lists them. */
  readonly rule: string;
  readonly message: string;
}

/**
 * A check over every file of the request at once, returning its findings: the HTTP rule check
 * (`checkHttpRules`, which must see all routes to find two rules on one verb and path) is one.
 */
export type ContractCheck = (files: readonly DescFile[]) => readonly ContractFinding[];

/**
 * Codes a retry can never fix: the request itself is wrong, not allowed, or not served. A
 * contract may not list them as retryable. (The runtime refuses a subset of them too.)
 */
export const neverSafeRetryCodes: ReadonlySet<StatusCode> = new Set([
  StatusCode.INVALID_ARGUMENT,
  StatusCode.NOT_FOUND,
  StatusCode.ALREADY_EXISTS,
  StatusCode.PERMISSION_DENIED,
  StatusCode.UNAUTHENTICATED,
  StatusCode.FAILED_PRECONDITION,
  StatusCode.OUT_OF_RANGE,
  StatusCode.UNIMPLEMENTED,
]);

/** The longest timeout a contract may set: 1 hour, also for streams. */
export const maxContractTimeoutMs = 3_600_000;
/** The most attempts (retry or hedging) a contract may set. */
export const maxContractAttempts = 10;

// Field numbers inside CallPolicy and its parts, for source-info paths.
const F = {
  timeout: 1,
  perAttemptTimeout: 2,
  retry: 3,
  hedging: 4,
  breaker: 6,
  bulkhead: 7,
  maxQueue: 2,
  maxAttempts: 1,
  retryableCodes: 3,
  consecutiveFailures: 1,
  sampling: 2,
  halfOpenAfter: 3,
  threshold: 1,
  window: 2,
} as const;

/** One written policy (a service's default_policy or a method's policy) and where it lives. */
interface WrittenPolicy {
  readonly proto: CallPolicyProto;
  readonly file: DescFile;
  /** Path of a field inside the policy's value. */
  path(...fields: number[]): number[];
}

/**
 * Every contract error and warning in `files`, sorted by file and position. Generation fails
 * on any error; `extraChecks` adds checks over all files, such as the HTTP rule check.
 */
export function checkContracts(
  files: readonly DescFile[],
  extraChecks: readonly ContractCheck[] = [],
): ContractFinding[] {
  const findings: ContractFinding[] = [];
  for (const file of files) {
    for (const service of file.services) findings.push(...checkService(service));
  }
  for (const check of extraChecks) findings.push(...check(files));
  return dedupe(findings).sort(byPosition);
}

/** protoc's shape: `file.proto:line:col: message`, `warning: ` before a warning's message. */
export function formatFinding(finding: ContractFinding): string {
  const prefix = finding.severity === "warning" ? "warning: " : "";
  return `${formatLocation(finding.location)}: ${prefix}${finding.message}`;
}

function checkService(service: DescService): ContractFinding[] {
  const findings: ContractFinding[] = [];
  const { file } = service;
  const servicePolicy: WrittenPolicy | undefined = hasOption(service, default_policy)
    ? {
        proto: getOption(service, default_policy),
        file,
        path: (...fields) => serviceOptionPath(service, default_policy.number, ...fields),
      }
    : undefined;
  const serviceFindings = servicePolicy ? checkWritten(servicePolicy, service.name) : [];
  findings.push(...serviceFindings);
  for (const method of service.methods) {
    const methodPolicy: WrittenPolicy | undefined = hasOption(method, policy)
      ? {
          proto: getOption(method, policy),
          file,
          path: (...fields) => methodOptionPath(method, policy.number, ...fields),
        }
      : undefined;
    const own = methodPolicy ? checkWritten(methodPolicy, method.name) : [];
    const combined = checkMethod(method, servicePolicy, methodPolicy);
    findings.push(...own, ...combined);
    // The runtime's own validation, only where nothing above explains the problem already.
    const errors = [...serviceFindings, ...own, ...combined].filter((f) => f.severity === "error");
    if (errors.length === 0) {
      findings.push(...runtimeValidation(method, methodPolicy ?? servicePolicy));
    }
  }
  return findings;
}

/** Rules on one written policy, whatever method it ends up on. */
function checkWritten(w: WrittenPolicy, subject: string): ContractFinding[] {
  const out: ContractFinding[] = [];
  const error = (rule: string, path: number[], message: string) =>
    out.push({
      location: sourceLocation(w.file, path),
      severity: "error",
      rule,
      message: `${subject}: ${message}`,
    });
  const { proto } = w;

  for (const [name, field, value] of [
    ["timeout", F.timeout, proto.timeout],
    ["per_attempt_timeout", F.perAttemptTimeout, proto.perAttemptTimeout],
  ] as const) {
    if (!value) continue;
    const ms = durationMs(value);
    if (ms <= 0 || ms > maxContractTimeoutMs)
      error(
        "timeout-range",
        w.path(field),
        `${name} must be more than 0s and at most 1h, got ${formatDuration(value)}`,
      );
  }

  const { retry, hedging } = proto;
  if (retry) {
    const attemptsPath = w.path(F.retry, F.maxAttempts);
    if (
      (retry.maxAttempts !== 0 || isWritten(w.file, attemptsPath)) &&
      (retry.maxAttempts < 1 || retry.maxAttempts > maxContractAttempts)
    )
      error(
        "max-attempts-range",
        attemptsPath,
        `retry.max_attempts must be within 1..${maxContractAttempts}, got ${retry.maxAttempts}`,
      );
    retry.retryableCodes.forEach((code, i) => {
      if (code === StatusCode.UNSPECIFIED || neverSafeRetryCodes.has(code))
        error(
          "never-retryable-code",
          w.path(F.retry, F.retryableCodes, i),
          `retry.retryable_codes may not contain ${codeName(code)}: ${
            code === StatusCode.UNSPECIFIED
              ? "it is not a failure"
              : "another attempt gets the same answer"
          }`,
        );
    });
  }
  if (hedging) {
    const attemptsPath = w.path(F.hedging, F.maxAttempts);
    if (
      (hedging.maxAttempts !== 0 || isWritten(w.file, attemptsPath)) &&
      (hedging.maxAttempts < 2 || hedging.maxAttempts > maxContractAttempts)
    )
      error(
        "max-attempts-range",
        attemptsPath,
        `hedging.max_attempts must be within 2..${maxContractAttempts}, got ${hedging.maxAttempts}`,
      );
  }
  if (retry && hedging)
    error(
      "hedging-with-retry",
      w.path(F.hedging),
      "hedging replaces retry: set one of them in a policy, not both",
    );

  const breaker = proto.circuitBreaker;
  if (breaker) {
    const trigger = breaker.trigger;
    if (trigger.case === "consecutiveFailures" && trigger.value < 1)
      error(
        "breaker-range",
        w.path(F.breaker, F.consecutiveFailures),
        `circuit_breaker.consecutive_failures must be at least 1, got ${trigger.value}`,
      );
    if (trigger.case === "sampling") {
      const s = trigger.value;
      const thresholdPath = w.path(F.breaker, F.sampling, F.threshold);
      if (
        (s.threshold !== 0 || isWritten(w.file, thresholdPath)) &&
        !(s.threshold > 0 && s.threshold < 1)
      )
        error(
          "breaker-range",
          thresholdPath,
          `circuit_breaker.sampling.threshold must be within (0, 1), got ${s.threshold}`,
        );
      if (s.window && durationMs(s.window) <= 0)
        error(
          "breaker-range",
          w.path(F.breaker, F.sampling, F.window),
          `circuit_breaker.sampling.window must be more than 0s, got ${formatDuration(s.window)}`,
        );
    }
    if (breaker.halfOpenAfter && durationMs(breaker.halfOpenAfter) <= 0)
      error(
        "breaker-range",
        w.path(F.breaker, F.halfOpenAfter),
        `circuit_breaker.half_open_after must be more than 0s, got ${formatDuration(breaker.halfOpenAfter)}`,
      );
  }
  const queuePath = w.path(F.bulkhead, F.maxQueue);
  if (proto.bulkhead && proto.bulkhead.maxQueue === 0 && isWritten(w.file, queuePath))
    out.push({
      location: sourceLocation(w.file, queuePath),
      severity: "warning",
      rule: "zero-means-inherit",
      message: `${subject}: bulkhead.max_queue: 0 is not on the wire in proto3, so it inherits the queue below it (default 100); a queue of 0 can only be set in code`,
    });
  return out;
}

/** Rules on a method with everything it inherits. */
function checkMethod(
  method: DescMethod,
  service: WrittenPolicy | undefined,
  own: WrittenPolicy | undefined,
): ContractFinding[] {
  const out: ContractFinding[] = [];
  const at = (w: WrittenPolicy, path: number[], severity: Severity, rule: string, msg: string) =>
    out.push({
      location: sourceLocation(w.file, path),
      severity,
      rule,
      message: `${method.name}: ${msg}`,
    });
  const contract = readMethodContract(method);
  const idempotent = isIdempotent(contract);
  const levels = [own, service].filter((w): w is WrittenPolicy => w !== undefined);
  const firstWith = (pick: (p: CallPolicyProto) => unknown) =>
    levels.find((w) => pick(w.proto) !== undefined && pick(w.proto) !== false);

  if (!idempotent) {
    const hedged = firstWith((p) => p.hedging);
    if (hedged)
      at(
        hedged,
        hedged.path(F.hedging),
        "error",
        "retry-needs-idempotency",
        "hedging needs idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS: a hedged call runs twice",
      );
    const ownRetry = own?.proto.retry;
    const attempts = ownRetry?.maxAttempts || service?.proto.retry?.maxAttempts || 0;
    const allowed = ownRetry?.allowNonIdempotent || service?.proto.retry?.allowNonIdempotent;
    if (own && ownRetry && (attempts === 0 || attempts > 1) && !allowed)
      at(
        own,
        own.path(F.retry),
        "error",
        "retry-needs-idempotency",
        "retry needs idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS, or retry.allow_non_idempotent when the server de-duplicates",
      );
  }

  // Retry on the service and hedging on the method (or the reverse) is allowed: hedging
  // replaces retry, and a method cannot unset what its service writes.

  const base = method.methodKind === "unary" ? defaultPolicy : defaultStreamingPolicy;
  const timeoutLevel = firstWith((p) => p.timeout);
  const perAttemptLevel = firstWith((p) => p.perAttemptTimeout);
  const timeout = timeoutLevel?.proto.timeout;
  const perAttempt = perAttemptLevel?.proto.perAttemptTimeout;
  const timeoutMs = timeout ? durationMs(timeout) : base.timeoutMs;
  if (perAttemptLevel && perAttempt && timeoutMs !== undefined) {
    const perAttemptMs = durationMs(perAttempt);
    if (perAttemptMs > timeoutMs)
      at(
        perAttemptLevel,
        perAttemptLevel.path(F.perAttemptTimeout),
        "error",
        "per-attempt-over-timeout",
        `per_attempt_timeout (${formatDuration(perAttempt)}) is longer than the timeout (${formatMs(timeoutMs)})`,
      );
  }

  const streamsIn =
    method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
  if (contract.visibility === "public" && streamsIn && !hasOption(method, http)) {
    out.push({
      location: sourceLocation(method.parent.file, methodPath(method)),
      severity: "warning",
      rule: "public-unreachable",
      message: `${method.name}: PUBLIC, but a browser cannot reach it: ${method.methodKind.replace("_", " ")} needs HTTP/2 end to end and the method has no google.api.http rule`,
    });
  }
  return out;
}

/** Whatever else the runtime would refuse at `createClient`, reported at generation time. */
function runtimeValidation(method: DescMethod, w: WrittenPolicy | undefined): ContractFinding[] {
  try {
    resolvePolicy({ method });
    return [];
  } catch (error) {
    const message =
      error instanceof ConnectError && error.code === Code.InvalidArgument
        ? error.rawMessage
        : String(error);
    return [
      {
        location: sourceLocation(method.parent.file, w ? w.path() : methodPath(method)),
        severity: "error",
        rule: "invalid-policy",
        message: `${method.name}: ${message}`,
      },
    ];
  }
}

function dedupe(findings: readonly ContractFinding[]): ContractFinding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${formatFinding(f)}\n${f.rule}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function byPosition(a: ContractFinding, b: ContractFinding): number {
  return (
    a.location.file.localeCompare(b.location.file) ||
    a.location.line - b.location.line ||
    a.location.column - b.location.column
  );
}

function durationMs(d: Duration): number {
  return Number(d.seconds) * 1000 + d.nanos / 1_000_000;
}

function formatDuration(d: Duration): string {
  return formatMs(durationMs(d));
}

function formatMs(ms: number): string {
  return `${ms / 1000}s`;
}

function codeName(code: StatusCode): string {
  return code === StatusCode.UNSPECIFIED ? "STATUS_CODE_UNSPECIFIED (OK)" : `${StatusCode[code]}`;
}

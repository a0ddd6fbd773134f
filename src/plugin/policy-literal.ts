import { Code } from "@connectrpc/connect";
import type { CallPolicy } from "../resilience/call-policy.js";

/** Where a `Code.X` reference sits in a rendered literal, so the caller can import `Code`. */
export const codeMarker = "\u0000Code";

/** Biome's (and this repository's) line width. */
const lineWidth = 100;

/**
 * A resolved policy as a TypeScript object literal, laid out the way Biome formats it: each
 * level of the policy on its own lines, and a part that fits within the line width (backoff,
 * budget, a breaker trigger) on one line. Keys keep `CallPolicy`'s order, so the text is
 * deterministic and a changed value shows up as a one-line diff. Retryable codes print as
 * `Code.Unavailable` (marked with `codeMarker`).
 */
export function policyLiteral(policy: CallPolicy, indent: string): string {
  return render(canonical(policy), indent, indent.length, true);
}

/** Text printed as is (a `Code.X` reference). */
class Raw {
  constructor(readonly text: string) {}
}

type Plain =
  | string
  | number
  | boolean
  | undefined
  | Raw
  | readonly Plain[]
  | { [key: string]: Plain };

/** Every field of `CallPolicy`, in its declared order, whatever order the resolver built. */
function canonical(p: CallPolicy): Plain {
  const { retry, hedging, breaker, bulkhead } = p;
  const { backoff, budget } = retry;
  return {
    timeoutMs: p.timeoutMs,
    perAttemptTimeoutMs: p.perAttemptTimeoutMs,
    retry: {
      maxAttempts: retry.maxAttempts,
      backoff: {
        initialMs: backoff.initialMs,
        maxMs: backoff.maxMs,
        multiplier: backoff.multiplier,
        jitter: backoff.jitter,
      },
      retryableCodes: retry.retryableCodes.map((c) => new Raw(codeReference(c))),
      allowNonIdempotent: retry.allowNonIdempotent,
      budget: budget && { ratio: budget.ratio, minRetriesPerSecond: budget.minRetriesPerSecond },
    },
    hedging: hedging && { maxAttempts: hedging.maxAttempts, delayMs: hedging.delayMs },
    breaker: breaker && {
      trigger:
        breaker.trigger.kind === "consecutive"
          ? { kind: "consecutive", failures: breaker.trigger.failures }
          : {
              kind: "sampling",
              threshold: breaker.trigger.threshold,
              windowMs: breaker.trigger.windowMs,
              minimumRps: breaker.trigger.minimumRps,
            },
      halfOpenAfterMs: breaker.halfOpenAfterMs,
      scope: breaker.scope,
    },
    bulkhead: bulkhead && { maxConcurrent: bulkhead.maxConcurrent, maxQueue: bulkhead.maxQueue },
    visibility: p.visibility,
  };
}

function render(value: Plain, indent: string, column: number, expand: boolean): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) {
    const items = (value as readonly Plain[]).map((v) => render(v, `${indent}  `, 0, false));
    const flat = `[${items.join(", ")}]`;
    if (column + visibleLength(flat) <= lineWidth) return flat;
    return `[\n${items.map((i) => `${indent}  ${i},\n`).join("")}${indent}]`;
  }
  if (isRecord(value)) {
    const entries = Object.entries(value);
    const nested = entries.some(([, v]) => isRecord(v));
    const inner = `${indent}  `;
    if (!expand && !nested) {
      const flat = `{ ${entries.map(([k, v]) => `${k}: ${render(v, inner, 0, false)}`).join(", ")} }`;
      if (column + visibleLength(flat) <= lineWidth) return flat;
    }
    const lines = entries.map(([k, v]) => {
      const head = `${inner}${k}: `;
      return `${head}${render(v, inner, head.length, key(k))},\n`;
    });
    return `{\n${lines.join("")}${indent}}`;
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined) return "undefined";
  if (typeof value === "number") return numberLiteral(value);
  return String(value);
}

/** `10_000`, `3_600_000`: integers of five digits or more grouped, as this codebase writes them. */
function numberLiteral(value: number): string {
  if (!Number.isSafeInteger(value) || Math.abs(value) < 10_000) return String(value);
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, "_");
}

function isRecord(v: Plain): v is { [key: string]: Plain } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Raw);
}

/** Levels that always get their own lines, whatever their size: the parts a reviewer reads. */
function key(name: string): boolean {
  return name === "retry" || name === "breaker";
}

/** Renders a code as `Code.Name` (gRPC status numbers are Connect's Code numbers). */
export function codeReference(code: Code): string {
  return `${codeMarker}.${Code[code]}`;
}

/** Width as printed: the marker becomes the four letters of `Code`. */
function visibleLength(text: string): number {
  return text.split(codeMarker).join("Code").length;
}

import { Code } from "@connectrpc/connect";

// gRPC's canonical upper-snake names, as metrics and logs from other gRPC stacks spell them.
const names: readonly string[] = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

/** "OK" for 0, else gRPC's name of a Connect `Code` (e.g. Code.NotFound → "NOT_FOUND"). */
export function grpcCodeName(code: Code | 0): string {
  return names[code] ?? names[Code.Unknown] ?? "UNKNOWN";
}

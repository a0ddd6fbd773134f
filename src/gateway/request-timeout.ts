import type { IncomingHttpHeaders } from "node:http";

const grpcTimeout = /^(\d{1,8})([HMSmun])$/;
const unitMs: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/**
 * The deadline a REST caller asked for, in `connect-timeout-ms` or `grpc-timeout` (as
 * grpc-gateway reads it), capped at `maxMs`; undefined when none was asked, so the
 * method's contract deadline applies.
 */
export function requestTimeoutMs(headers: IncomingHttpHeaders, maxMs: number): number | undefined {
  const connect = headers["connect-timeout-ms"];
  let ms: number | undefined;
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect)) ms = Number(connect);
  else {
    const grpc = headers["grpc-timeout"];
    const m = typeof grpc === "string" ? grpcTimeout.exec(grpc) : null;
    if (m) ms = Math.max(1, Math.ceil(Number(m[1]) * (unitMs[m[2] as string] as number)));
  }
  return ms === undefined ? undefined : Math.min(ms, maxMs);
}

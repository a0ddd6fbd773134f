import { type FileRegistry, fromBinary, toJsonString } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { grpcCodeName } from "../../observe/grpc-code-name.js";
import { CliError } from "../cli-error.js";
import type { RemoteSession } from "./remote-session.js";

const tlsCodes =
  /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL|EPROTO|HOSTNAME_MISMATCH/;
const unreachableCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNRESET",
  "ETIMEDOUT",
]);

/**
 * Turns what a remote verb caught into the one message to print: an unreachable host, a TLS
 * failure or a spent deadline say what to try next; any other status prints its gRPC code,
 * message and details (decoded with `registry` when it knows their type).
 */
export function remoteFailure(
  error: unknown,
  session: RemoteSession,
  registry?: FileRegistry,
): CliError {
  if (error instanceof CliError) return error;
  const url = session.options.url.href;
  const cause = rootCause(error);
  const causeCode = (cause as { code?: unknown } | undefined)?.code;
  const causeMessage = cause instanceof Error ? cause.message : "";
  if (typeof causeCode === "string" && unreachableCodes.has(causeCode)) {
    return new CliError(`cannot reach ${url}: ${causeMessage}; is the server running there?`);
  }
  if (typeof causeCode === "string" && tlsCodes.test(causeCode)) {
    return new CliError(
      `TLS failure with ${url}: ${causeMessage}; pass --cacert FILE to trust its CA, or use http:// for cleartext`,
    );
  }
  if (session.signal.aborted) {
    return new CliError(
      `no answer from ${url} within ${session.options.timeoutMs} ms; raise --timeout`,
    );
  }
  const connectError = ConnectError.from(error);
  const lines = [
    `ERROR: ${grpcCodeName(connectError.code)} (${connectError.code}): ${connectError.rawMessage}`,
  ];
  for (const detail of connectError.details)
    lines.push(`  detail ${describeDetail(detail, registry)}`);
  return new CliError(lines.join("\n"), { cause: error });
}

function describeDetail(detail: ConnectError["details"][number], registry?: FileRegistry): string {
  const type = "desc" in detail ? detail.desc.typeName : detail.type;
  if ("debug" in detail && detail.debug !== undefined) {
    return `${type} ${JSON.stringify(detail.debug)}`;
  }
  const schema = registry?.getMessage(type);
  if (schema && "value" in detail && detail.value instanceof Uint8Array) {
    try {
      return `${type} ${toJsonString(schema, fromBinary(schema, detail.value))}`;
    } catch {
      // fall through to the raw bytes
    }
  }
  const bytes = "value" in detail && detail.value instanceof Uint8Array ? detail.value : undefined;
  return bytes ? `${type} (${bytes.length} bytes: ${Buffer.from(bytes).toString("base64")})` : type;
}

function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    const next = (current as { cause?: unknown } | undefined)?.cause;
    if (next === undefined || next === null) break;
    current = next;
  }
  return current;
}

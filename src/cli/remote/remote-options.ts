import type { ParseArgsOptionsConfig } from "node:util";
import { usageError } from "../cli-error.js";
import { type ParsedVerbArgs, stringOption, stringOptions } from "../parse-verb-args.js";

/** The protocols `--protocol` takes. */
export type RemoteProtocol = "grpc" | "connect" | "grpc-web";

/** How to reach a server: what every reflection-driven verb shares. */
export interface RemoteOptions {
  /** The server's base URL; `host:port` alone means `http://host:port` (cleartext h2c). */
  readonly url: URL;
  readonly protocol: RemoteProtocol;
  /** `-H "name: value"` pairs, sent with every request, reflection included. */
  readonly headers: readonly (readonly [string, string])[];
  /** The whole command's deadline in ms; default 10 s, so a stuck server never hangs a script. */
  readonly timeoutMs: number;
  /** PEM file of CA certificates to trust for https://, besides Node's root CAs. Default: none. */
  readonly caFile: string | undefined;
}

/** Default `--timeout`: long enough for a slow call, short enough for a probe. */
export const defaultTimeoutMs = 10_000;

/** The parseArgs options of every remote verb. */
export const remoteArgOptions: ParseArgsOptionsConfig = {
  protocol: { type: "string" },
  header: { type: "string", short: "H", multiple: true },
  timeout: { type: "string" },
  cacert: { type: "string" },
};

/** The help lines of those options. */
export const remoteOptionsHelp = `  --protocol P      grpc (default), connect or grpc-web, all over HTTP/2
  -H "name: value"  a request header, repeatable
  --timeout T       deadline for the whole command: 500ms, 5s, 1m (default 10s)
  --cacert FILE     PEM certificates to trust for https:// besides Node's root CAs`;

/** Reads the shared options; bad values are usage errors (exit 2). */
export function readRemoteOptions(
  verb: string,
  parsed: ParsedVerbArgs,
  url: string,
): RemoteOptions {
  const protocol = stringOption(parsed, "protocol") ?? "grpc";
  if (protocol !== "grpc" && protocol !== "connect" && protocol !== "grpc-web") {
    throw usageError(verb, `--protocol must be grpc, connect or grpc-web, not "${protocol}"`);
  }
  const headers = stringOptions(parsed, "header").map((header): [string, string] => {
    const colon = header.indexOf(":");
    if (colon <= 0) throw usageError(verb, `-H "${header}" is not "name: value"`);
    return [header.slice(0, colon).trim().toLowerCase(), header.slice(colon + 1).trim()];
  });
  const timeout = stringOption(parsed, "timeout");
  return {
    url: parseUrl(verb, url),
    protocol,
    headers,
    timeoutMs: timeout === undefined ? defaultTimeoutMs : parseDuration(verb, timeout),
    caFile: stringOption(parsed, "cacert"),
  };
}

function parseUrl(verb: string, text: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw usageError(verb, `"${text}" is not a URL (e.g. http://127.0.0.1:8080 or host:port)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw usageError(verb, `"${text}": only http:// (h2c) and https:// are supported`);
  }
  return url;
}

function parseDuration(verb: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!match) throw usageError(verb, `--timeout "${text}" is not a duration like 500ms, 5s or 1m`);
  const unit = match[2] ?? "s";
  const value = Number(match[1]);
  const ms = unit === "ms" ? value : unit === "s" ? value * 1000 : value * 60_000;
  if (ms <= 0) throw usageError(verb, "--timeout must be more than zero");
  return Math.ceil(ms);
}

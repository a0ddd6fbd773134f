import { Code, ConnectError } from "@connectrpc/connect";
import type { Address } from "./address.js";
import { createDnsResolver, createStaticResolver, type Resolver } from "./resolver.js";

/** What a target string says: where to find addresses, the `:authority`, and the scheme. */
export interface ParsedTarget {
  readonly resolver: Resolver;
  /** The `:authority` of every request (host:port as the caller wrote it). */
  readonly authority: string;
  /** The host a TLS certificate must name (SNI), unless the caller overrides it. */
  readonly serverName: string;
  /** True for `https://`, false for `http://`, undefined when the target does not say. */
  readonly secure: boolean | undefined;
  /**
   * A URL target's path, without its trailing `/`, which starts every method's `:path` (a
   * server behind a proxy that routes by path); empty for every other form.
   */
  readonly pathPrefix: string;
}

/** Port of a gRPC name without one (gRPC's naming document). */
const defaultGrpcPort = 443;

/**
 * Parses a target in the forms gRPC's naming document and URLs allow: `http://host:port`,
 * `https://host:port`, `dns:///host:port` (or `dns://authority/host:port`, authority ignored),
 * `ipv4:a.b.c.d:port,…`, `ipv6:[::1]:port,…`, `unix:/path` or `unix:///path`, and a bare
 * `host:port` (as `dns:///`). Throws `InvalidArgument` for anything else.
 */
export function parseTarget(target: string): ParsedTarget {
  const bad = (why: string) =>
    new ConnectError(`invalid target ${JSON.stringify(target)}: ${why}`, Code.InvalidArgument);
  if (target.startsWith("http://") || target.startsWith("https://")) {
    const url = new URL(target);
    const secure = url.protocol === "https:";
    if (url.search !== "" || url.hash !== "") throw bad("a URL target has no query or fragment");
    const host = stripBrackets(url.hostname);
    const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
    return {
      resolver: createDnsResolver(host, port),
      authority: url.host,
      serverName: host,
      secure,
      pathPrefix: url.pathname.replace(/\/$/, ""),
    };
  }
  if (target.startsWith("dns:")) {
    const rest = target.slice(4);
    const name = rest.startsWith("//") ? rest.slice(rest.indexOf("/", 2) + 1) : rest;
    if (rest.startsWith("//") && rest.indexOf("/", 2) < 0)
      throw bad("dns://authority/ needs a name");
    return dnsTarget(name, bad);
  }
  if (target.startsWith("ipv4:") || target.startsWith("ipv6:")) {
    const addresses = target
      .slice(5)
      .split(",")
      .map((part) => hostPort(part.trim(), bad));
    const first = addresses[0];
    if (first === undefined) throw bad("no address");
    return {
      resolver: createStaticResolver(addresses),
      authority: target.slice(5).split(",")[0]?.trim() ?? "",
      serverName: first.host,
      secure: undefined,
      pathPrefix: "",
    };
  }
  if (target.startsWith("unix:")) {
    const path = target.startsWith("unix://") ? target.slice(7) : target.slice(5);
    if (!path.startsWith("/")) throw bad("unix: needs an absolute path");
    const address: Address = { path };
    return {
      resolver: createStaticResolver([address]),
      authority: "localhost",
      serverName: "localhost",
      secure: undefined,
      pathPrefix: "",
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) throw bad("unsupported scheme");
  return dnsTarget(target, bad);
}

function dnsTarget(name: string, bad: (why: string) => ConnectError): ParsedTarget {
  const { host, port } = hostPort(name, bad);
  return {
    resolver: createDnsResolver(host, port),
    authority: name,
    serverName: host,
    secure: undefined,
    pathPrefix: "",
  };
}

/** `host:port`, `[v6]:port`, or a host alone (port 443). */
function hostPort(
  value: string,
  bad: (why: string) => ConnectError,
): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0) throw bad("unclosed [");
    host = value.slice(1, close);
    const after = value.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) throw bad("junk after ]");
    portText = after === "" ? undefined : after.slice(1);
  } else {
    const colon = value.lastIndexOf(":");
    if (colon >= 0 && value.indexOf(":") !== colon) {
      // A bare IPv6 address without brackets and without a port.
      host = value;
    } else {
      host = colon < 0 ? value : value.slice(0, colon);
      portText = colon < 0 ? undefined : value.slice(colon + 1);
    }
  }
  if (host === "") throw bad("no host");
  const port = portText === undefined ? defaultGrpcPort : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw bad("bad port");
  return { host, port };
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

import { isIP } from "node:net";
import { type ConnectionOptions, checkServerIdentity } from "node:tls";
import { Code, ConnectError } from "@connectrpc/connect";
import { CallNotSent } from "../call-not-sent.js";
import type { TransportTls } from "../transport-tls.js";
import { type Address, addressKey } from "./address.js";
import { ClientSession, type SessionConfig } from "./client-session.js";
import type { ConnectionBackoffOptions } from "./connection-backoff.js";
import { createKeepalive } from "./keepalive.js";
import type { LoadBalancer, LoadBalancingPolicy } from "./load-balancer.js";
import { createPickFirst } from "./load-balancer-pick-first.js";
import { createRoundRobin } from "./load-balancer-round-robin.js";
import {
  type OutlierDetection,
  type OutlierDetectionOptions,
  startOutlierDetection,
} from "./outlier-detection.js";
import { parseTarget } from "./parse-target.js";
import type { Resolver } from "./resolver.js";
import { Subchannel, type SubchannelListener } from "./subchannel.js";
import { defaultConnectionSettings } from "./wire/client-connection.js";

/** How an http2 channel finds, connects to and spreads calls over a target's addresses. */
export interface Http2ChannelOptions {
  /**
   * Where to connect: `http://host:port` (h2c), `https://host:port` (TLS), or a gRPC name —
   * `dns:///host:port` (every address, re-resolved), `ipv4:a.b.c.d:p,…`, `ipv6:[::1]:p,…`,
   * `unix:/path` — or a bare `host:port` (as `dns:///`). gRPC names use TLS when `tls` is set.
   * A URL's path (`http://host:port/grpc`) starts every method's path, for a server behind a
   * proxy that routes by path.
   */
  readonly target: string;
  /** TLS settings; for gRPC names, their presence turns TLS on. Default: cleartext for gRPC names. */
  readonly tls?: TransportTls;
  /**
   * Load-balancing policy. Default `round_robin`: every resolved address gets calls, as the
   * grpc-js transport here does (gRPC itself defaults to `pick_first`).
   */
  readonly loadBalancing?: LoadBalancingPolicy;
  /** Where addresses come from instead of the target's own (DNS or the fixed list). */
  readonly resolver?: Resolver;
  /** Reconnection backoff. Default gRPC's: 1 s, ×1.6, ±20 %, 120 s cap, 20 s connect timeout. */
  readonly backoff?: ConnectionBackoffOptions;
  /** Keepalive PING interval (GRPC_ARG_KEEPALIVE_TIME_MS). Default off. */
  readonly keepaliveTimeMs?: number;
  /** Wait for a PING's ack (GRPC_ARG_KEEPALIVE_TIMEOUT_MS). Default 20 s. */
  readonly keepaliveTimeoutMs?: number;
  /** Ping with no call open (GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS). Default false. */
  readonly keepalivePermitWithoutCalls?: boolean;
  /**
   * Close a connection that carried no call for this long (GRPC_ARG_CLIENT_IDLE_TIMEOUT_MS);
   * the next call reconnects. Default 30 minutes, as gRPC.
   */
  readonly idleTimeoutMs?: number;
  /**
   * Re-resolve the name this often, besides on a lost connection and on GOAWAY. Default
   * 5 minutes; `Infinity` turns the interval off.
   */
  readonly resolveIntervalMs?: number;
  /**
   * Fewest milliseconds between two resolutions, whatever asks for them
   * (GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS). Default 30 s.
   */
  readonly minResolveIntervalMs?: number;
  /** Eject endpoints that fail more than the others (gRPC A50). Default off. */
  readonly outlierDetection?: OutlierDetectionOptions;
  /**
   * The largest response header list (headers or trailers) a call accepts, advertised as
   * SETTINGS_MAX_HEADER_LIST_SIZE (GRPC_ARG_MAX_METADATA_SIZE in gRPC). A larger one fails
   * that call with INTERNAL and leaves the connection up. Default 64 KiB: big enough for
   * `grpc-status-details-bin` with a few details, small enough that a hostile server cannot
   * make the client hold megabytes of headers per call.
   */
  readonly maxHeaderListBytes?: number;
}

/** A call as the channel sees it, waiting for a session or refused one. */
export interface PendingCall {
  /** Wait for a ready connection (bounded by the call's deadline) rather than fail fast. */
  readonly waitForReady: boolean;
  /** Go out on `session` now. */
  attach(session: ClientSession): void;
  /** No connection can take the call: it never left. */
  failNotSent(error: ConnectError): void;
}

const defaultIdleTimeoutMs = 30 * 60_000;
const defaultResolveIntervalMs = 5 * 60_000;
const defaultMinResolveIntervalMs = 30_000;

/**
 * A gRPC channel over HTTP/2 connections of its own framing, the parts grpc-js keeps apart kept
 * apart here too: a
 * resolver, one subchannel per address (connections with backoff), a load balancer, and
 * outlier detection. Calls pick a session in a few property reads; only calls that find no
 * ready connection are queued, and only those wait (`waitForReady`) or fail fast.
 */
export class Http2Channel implements SubchannelListener {
  /** Calls end on sessions report to outlier detection only when it runs. */
  readonly countsCalls: boolean;
  /** What starts every method's `:path`: a URL target's own path, else empty. */
  readonly pathPrefix: string;
  readonly #config: SessionConfig;
  readonly #resolver: Resolver;
  readonly #lb: LoadBalancer;
  readonly #backoff: ConnectionBackoffOptions | undefined;
  readonly #minResolveIntervalMs: number;
  #subchannels: Subchannel[] = [];
  #queue: PendingCall[] = [];
  #draining = false;
  #drainAgain = false;
  #resolving = false;
  #resolved = false;
  #lastResolveAt = Number.NEGATIVE_INFINITY;
  #resolveError: unknown;
  #resolveTimer: NodeJS.Timeout | undefined;
  #resolveInterval: NodeJS.Timeout | undefined;
  readonly #resolveIntervalMs: number;
  #outliers: OutlierDetection | undefined;
  #closed = false;

  constructor(options: Http2ChannelOptions) {
    const target = parseTarget(options.target);
    const secure = target.secure ?? options.tls !== undefined;
    const tls = options.tls ?? {};
    const serverName = tls.serverName ?? target.serverName;
    const authority = tls.serverName ?? target.authority;
    const tlsOptions: ConnectionOptions | undefined = secure
      ? {
          ...(tls.rootCerts !== undefined && { ca: tls.rootCerts }),
          ...(tls.certChain !== undefined && { cert: tls.certChain }),
          ...(tls.privateKey !== undefined && { key: tls.privateKey }),
          ...(isIP(serverName) === 0 && { servername: serverName }),
          ...(isIP(serverName) !== 0 && { checkServerIdentity: checkIpIdentity(serverName) }),
        }
      : undefined;
    this.#config = {
      scheme: secure ? "https" : "http",
      authority,
      tls: tlsOptions,
      keepalive: createKeepalive({
        ...(options.keepaliveTimeMs !== undefined && { timeMs: options.keepaliveTimeMs }),
        ...(options.keepaliveTimeoutMs !== undefined && { timeoutMs: options.keepaliveTimeoutMs }),
        ...(options.keepalivePermitWithoutCalls !== undefined && {
          permitWithoutCalls: options.keepalivePermitWithoutCalls,
        }),
      }),
      idleTimeoutMs: options.idleTimeoutMs ?? defaultIdleTimeoutMs,
      settings:
        options.maxHeaderListBytes === undefined
          ? defaultConnectionSettings
          : {
              ...defaultConnectionSettings,
              maxHeaderListBytes: checkedHeaderListBytes(options.maxHeaderListBytes),
            },
    };
    this.pathPrefix = target.pathPrefix;
    this.#resolver = options.resolver ?? target.resolver;
    this.#lb = options.loadBalancing === "pick_first" ? createPickFirst() : createRoundRobin();
    this.#backoff = options.backoff;
    this.#minResolveIntervalMs = options.minResolveIntervalMs ?? defaultMinResolveIntervalMs;
    this.#resolveIntervalMs = options.resolveIntervalMs ?? defaultResolveIntervalMs;
    this.countsCalls = options.outlierDetection !== undefined;
    if (options.outlierDetection) {
      this.#outliers = startOutlierDetection(
        options.outlierDetection,
        () => this.#subchannels,
        () => this.subchannelChanged(),
      );
    }
  }

  /** The subchannels, one per resolved address (for tests and metrics). */
  get subchannels(): readonly Subchannel[] {
    return this.#subchannels;
  }

  /** The keepalive interval now (doubled by each `too_many_pings`); undefined when off. */
  get keepaliveTimeMs(): number | undefined {
    return this.#config.keepalive.timeMs;
  }

  /** Open HTTP/2 sessions over every address (for leak checks). */
  get sessionCount(): number {
    let count = 0;
    for (const s of this.#subchannels) count += s.sessionCount;
    return count;
  }

  /** Sends `call` on a ready session, queues it, or fails it as never sent. */
  dispatch(call: PendingCall): void {
    const picked = this.#pick();
    if (picked instanceof ClientSession) call.attach(picked);
    else if (picked === "queue" || (call.waitForReady && !this.#closed)) this.#queue.push(call);
    else call.failNotSent(this.#unavailable());
  }

  /** A queued call ended (deadline, cancel) before a session took it. */
  remove(call: PendingCall): void {
    const index = this.#queue.indexOf(call);
    if (index >= 0) this.#queue.splice(index, 1);
  }

  /**
   * Stops taking calls: queued ones fail (never sent), calls in flight finish, then every
   * connection closes. Resolves when they have.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      clearTimeout(this.#resolveTimer);
      clearInterval(this.#resolveInterval);
      this.#outliers?.stop();
      const queued = this.#queue;
      this.#queue = [];
      for (const call of queued) call.failNotSent(this.#unavailable());
      for (const s of this.#subchannels) s.shutdown();
      this.#lb.update([]);
    }
    await Promise.all(this.#subchannels.map((s) => s.closed()));
  }

  #pick(): ClientSession | "queue" | "fail" {
    if (this.#closed) return "fail";
    const subchannel = this.#lb.pick();
    if (subchannel !== undefined) return subchannel.pickSession() ?? "queue";
    if (!this.#resolved) {
      this.#resolveNow();
      return this.#resolving ? "queue" : "fail";
    }
    this.#lb.exitIdle();
    if (this.#lb.pending()) return "queue";
    this.#resolveNow();
    return "fail";
  }

  #unavailable(): ConnectError {
    let reason: string;
    let cause: unknown;
    if (this.#closed) reason = "the channel is closed";
    else if (this.#subchannels.length === 0) {
      reason = `name resolution failed: ${String((this.#resolveError as Error | undefined)?.message ?? this.#resolveError)}`;
      cause = this.#resolveError;
    } else {
      const failed = this.#subchannels.find((s) => s.lastError !== undefined);
      cause = failed?.lastError;
      reason =
        this.#subchannels.every((s) => s.ejected) && this.#subchannels.length > 0
          ? "every endpoint is ejected as an outlier"
          : `no connection established${failed ? ` (${failed.key}: ${failed.lastError?.message})` : ""}`;
    }
    return new ConnectError(
      reason,
      Code.Unavailable,
      undefined,
      undefined,
      new CallNotSent(reason, { cause }),
    );
  }

  subchannelChanged(): void {
    this.#lb.update(this.#subchannels);
    if (this.#queue.length > 0) this.#drain();
  }

  roomFreed(): void {
    if (this.#queue.length > 0) this.#drain();
  }

  connectionLost(): void {
    this.#resolveNow();
  }

  #drain(): void {
    if (this.#draining) {
      this.#drainAgain = true;
      return;
    }
    this.#draining = true;
    try {
      do {
        this.#drainAgain = false;
        const queued = this.#queue;
        this.#queue = [];
        for (const call of queued) this.dispatch(call);
      } while (this.#drainAgain && this.#queue.length > 0);
    } finally {
      this.#draining = false;
    }
  }

  /** Resolves the name now, or as soon as the minimum interval allows. */
  #resolveNow(): void {
    if (this.#resolving || this.#closed) return;
    const wait = this.#lastResolveAt + this.#minResolveIntervalMs - performance.now();
    if (wait > 0) {
      // Too soon: once the interval allows (calls waiting for ready depend on it).
      if (this.#resolveTimer === undefined) {
        this.#resolveTimer = setTimeout(() => {
          this.#resolveTimer = undefined;
          this.#resolveNow();
        }, wait);
        this.#resolveTimer.unref();
      }
      return;
    }
    this.#resolving = true;
    this.#lastResolveAt = performance.now();
    this.#resolver.resolve().then(
      (addresses) => this.#resolvedTo(addresses),
      (error: unknown) => this.#resolveFailed(error),
    );
  }

  #resolvedTo(addresses: readonly Address[]): void {
    this.#resolving = false;
    this.#resolveError = undefined;
    if (this.#closed) return;
    if (!this.#resolved) {
      this.#resolved = true;
      if (Number.isFinite(this.#resolveIntervalMs)) {
        this.#resolveInterval = setInterval(() => this.#resolveNow(), this.#resolveIntervalMs);
        this.#resolveInterval.unref();
      }
    }
    const byKey = new Map(this.#subchannels.map((s) => [s.key, s]));
    const next: Subchannel[] = [];
    for (const address of addresses) {
      const key = addressKey(address);
      if (next.some((s) => s.key === key)) continue;
      const existing = byKey.get(key);
      if (existing) byKey.delete(key);
      next.push(existing ?? new Subchannel(address, this.#config, this.#backoff, this));
    }
    for (const gone of byKey.values()) gone.shutdown();
    this.#subchannels = next;
    this.subchannelChanged();
  }

  #resolveFailed(error: unknown): void {
    this.#resolving = false;
    this.#resolveError = error;
    if (this.#subchannels.length > 0) return;
    // First resolution failed: the name is unknown, so fail-fast calls fail now.
    this.#resolved = false;
    if (this.#queue.length > 0) this.#drain();
  }
}

/** Certificate check for an IP target: the certificate must carry that IP. */
function checkIpIdentity(ip: string): ConnectionOptions["checkServerIdentity"] {
  return (_host, cert) => checkServerIdentity(ip, cert);
}

/** SETTINGS_MAX_HEADER_LIST_SIZE is an unsigned 32-bit value; below 1 KiB no gRPC answer fits. */
function checkedHeaderListBytes(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 1024 || bytes > 0xffff_ffff) {
    throw new TypeError(
      `maxHeaderListBytes must be an integer from 1024 to ${0xffff_ffff}, got ${bytes}`,
    );
  }
  return bytes;
}

import { connect as connectTcp, type Socket } from "node:net";
import { type ConnectionOptions, connect as connectTls, type TLSSocket } from "node:tls";
import type { Address } from "./address.js";
import type { Keepalive } from "./keepalive.js";
import {
  ClientConnection,
  type ConnectionListener,
  type ConnectionSettings,
} from "./wire/client-connection.js";
import { h2Error } from "./wire/frames.js";

/** What every session of a channel shares. */
export interface SessionConfig {
  /** `:scheme` of every request: `https` under TLS. */
  readonly scheme: "http" | "https";
  /** `:authority` of every request. */
  readonly authority: string;
  /** TLS for every connection (ALPN h2 is always asked for); undefined for cleartext h2c. */
  readonly tls: ConnectionOptions | undefined;
  readonly keepalive: Keepalive;
  /** Close a session that carried no call for this long. */
  readonly idleTimeoutMs: number;
  /** Our SETTINGS. */
  readonly settings: ConnectionSettings;
}

/** What a session tells its owner (the subchannel). */
export interface SessionOwner {
  /** The server's first SETTINGS arrived: the session can carry calls. */
  sessionReady(session: ClientSession): void;
  /** GOAWAY arrived: no new calls on it; calls in flight finish. */
  sessionDraining(session: ClientSession): void;
  /** A call ended on it: room for another. */
  sessionReleased(session: ClientSession): void;
  /** The session is gone; `error` says why when it failed. */
  sessionClosed(session: ClientSession, error: Error | undefined): void;
  /** A call on one of its sessions ended, well or not (for outlier detection). */
  callEnded(ok: boolean): void;
}

/** Largest stream id, for a session that has not received GOAWAY. */
const noGoaway = 2 ** 31;

/**
 * One HTTP/2 connection to one address and what it is doing: connecting, ready, draining;
 * its calls in flight against the server's SETTINGS_MAX_CONCURRENT_STREAMS; keepalive PINGs;
 * and its idle timer. The frames are ./wire/client-connection.ts's.
 */
export class ClientSession implements ConnectionListener {
  readonly connection: ClientConnection;
  ready = false;
  draining = false;
  /** Calls open on it. */
  active = 0;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS. */
  maxStreams = Number.POSITIVE_INFINITY;
  /** From a GOAWAY: streams above it were never processed. */
  lastStreamId = noGoaway;
  #error: Error | undefined;
  #idleSince = performance.now();
  #connectTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #pingTimeout: NodeJS.Timeout | undefined;

  constructor(
    readonly owner: SessionOwner,
    private readonly config: SessionConfig,
    address: Address,
    connectTimeoutMs: number,
  ) {
    this.connection = new ClientConnection(
      openSocket(address, config.tls),
      config.scheme,
      config.authority,
      config.settings,
      this,
    );
    this.#connectTimer = setTimeout(connectTimedOut, connectTimeoutMs, this);
    this.#connectTimer.unref();
  }

  /** Room for another call now. */
  hasRoom(): boolean {
    return this.ready && !this.draining && this.active < this.maxStreams;
  }

  /** A call starts on this session. */
  acquire(): void {
    if (this.active++ === 0) this.connection.ref();
  }

  /** A call on this session ended. */
  release(): void {
    if (--this.active === 0) {
      this.#idleSince = performance.now();
      if (!this.connection.destroyed) this.connection.unref();
    }
    this.owner.sessionReleased(this);
  }

  /** No new calls; the ones in flight finish, then the connection closes. */
  close(): void {
    this.draining = true;
    this.connection.close();
  }

  /** Closes now, failing calls in flight. */
  destroy(error?: Error): void {
    this.draining = true;
    this.connection.destroy(error);
  }

  settingsArrived(max: number): void {
    // A limit of 0 would never let a call through: treated as unknown, as node:http2 does.
    this.maxStreams = max <= 0 ? Number.POSITIVE_INFINITY : max;
    if (this.ready) {
      this.owner.sessionReleased(this);
      return;
    }
    this.ready = true;
    clearTimeout(this.#connectTimer);
    if (this.active === 0) this.connection.unref();
    const idleMs = this.config.idleTimeoutMs;
    if (Number.isFinite(idleMs)) {
      this.#idleTimer = setTimeout(checkIdle, idleMs, this);
      this.#idleTimer.unref();
    }
    this.#schedulePing();
    this.owner.sessionReady(this);
  }

  goawayArrived(code: number, lastStreamId: number, debug: Buffer): void {
    this.lastStreamId = lastStreamId;
    if (code === h2Error.enhanceYourCalm && debug.toString() === "too_many_pings") {
      this.config.keepalive.tooManyPings();
    }
    if (this.draining) return;
    this.draining = true;
    this.owner.sessionDraining(this);
  }

  failed(error: Error): void {
    this.#error ??= error;
  }

  closed(): void {
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#pingTimeout);
    this.draining = true;
    this.owner.sessionClosed(this, this.#error);
  }

  connectTimedOut(): void {
    if (!this.ready) this.destroy(new Error("connection attempt timed out"));
  }

  checkIdle(): void {
    const idleMs = this.config.idleTimeoutMs;
    const idleFor = performance.now() - this.#idleSince;
    if (this.active === 0 && idleFor >= idleMs) {
      this.close();
      return;
    }
    this.#idleTimer = setTimeout(checkIdle, this.active === 0 ? idleMs - idleFor : idleMs, this);
    this.#idleTimer.unref();
  }

  #schedulePing(): void {
    const timeMs = this.config.keepalive.timeMs;
    if (timeMs === undefined || this.connection.destroyed) return;
    this.#pingTimer = setTimeout(sendPing, timeMs, this);
    this.#pingTimer.unref();
  }

  sendPing(): void {
    if (this.connection.destroyed) return;
    if (this.active === 0 && !this.config.keepalive.permitWithoutCalls) {
      this.#schedulePing();
      return;
    }
    const sent = this.connection.ping((error) => {
      clearTimeout(this.#pingTimeout);
      if (error === null) this.#schedulePing();
    });
    if (!sent) {
      this.#schedulePing();
      return;
    }
    this.#pingTimeout = setTimeout(pingTimedOut, this.config.keepalive.timeoutMs, this);
    this.#pingTimeout.unref();
  }

  pingTimedOut(): void {
    this.destroy(new Error("keepalive ping not acknowledged in time"));
  }

  /** Why the session failed, if it did. */
  get error(): Error | undefined {
    return this.#error;
  }
}

function connectTimedOut(session: ClientSession): void {
  session.connectTimedOut();
}
function checkIdle(session: ClientSession): void {
  session.checkIdle();
}
function sendPing(session: ClientSession): void {
  session.sendPing();
}
function pingTimedOut(session: ClientSession): void {
  session.pingTimedOut();
}

/** A socket to `address`: TCP or Unix, under TLS when `tls` is set, asking ALPN for h2. */
function openSocket(address: Address, tls: ConnectionOptions | undefined): Socket {
  if (tls === undefined) return "path" in address ? connectTcp(address.path) : connectTcp(address);
  const socket: TLSSocket = connectTls({
    ...tls,
    ...("path" in address ? { path: address.path } : { host: address.host, port: address.port }),
    ALPNProtocols: ["h2"],
  });
  socket.once("secureConnect", () => {
    if (socket.alpnProtocol !== "h2") {
      socket.destroy(
        new Error(`the server did not agree to HTTP/2 over ALPN (got ${socket.alpnProtocol})`),
      );
    }
  });
  return socket;
}

import { type Address, addressKey } from "./address.js";
import { ClientSession, type SessionConfig, type SessionOwner } from "./client-session.js";
import {
  type ConnectionBackoff,
  type ConnectionBackoffOptions,
  createConnectionBackoff,
} from "./connection-backoff.js";

/**
 * gRPC's connectivity states of one address: `idle` (no connection, none wanted yet),
 * `connecting`, `ready` (a session can carry calls), `transient_failure` (the last attempt
 * failed; the next waits for the backoff), `shutdown` (removed or closed).
 */
export type SubchannelState = "idle" | "connecting" | "ready" | "transient_failure" | "shutdown";

/** What a subchannel tells the channel. */
export interface SubchannelListener {
  /** State changed, or a session got room for calls. */
  subchannelChanged(subchannel: Subchannel): void;
  /** A ready connection was lost or drained: the name may have moved. */
  connectionLost(subchannel: Subchannel): void;
  /** A call ended or a session's limit rose: calls waiting for room may go. */
  roomFreed(): void;
}

/** Counters outlier detection reads and resets every interval. */
export interface EndpointCounters {
  successes: number;
  failures: number;
}

/**
 * One address and its connections, as grpc-js's subchannel: it connects when asked, backs
 * off between failed attempts (gRPC's connection-backoff schedule), and opens another session
 * to the same address when every open one has reached the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS.
 */
export class Subchannel implements SessionOwner {
  readonly key: string;
  state: SubchannelState = "idle";
  /** Set by outlier detection: the load balancer skips it while true. */
  ejected = false;
  /** Calls finished in the current outlier-detection interval. */
  readonly counters: EndpointCounters = { successes: 0, failures: 0 };
  /** How many times outlier detection ejected it (grows the ejection time). */
  ejections = 0;
  ejectedUntil = 0;
  /** Why the last connection attempt failed. */
  lastError: Error | undefined;
  readonly #sessions: ClientSession[] = [];
  readonly #backoff: ConnectionBackoff;
  #nextAttemptAt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #whenClosed: (() => void)[] = [];

  constructor(
    readonly address: Address,
    private readonly config: SessionConfig,
    backoff: ConnectionBackoffOptions | undefined,
    private readonly listener: SubchannelListener,
  ) {
    this.key = addressKey(address);
    this.#backoff = createConnectionBackoff(backoff);
  }

  /** Open sessions (for tests and leak checks). */
  get sessionCount(): number {
    return this.#sessions.length;
  }

  /** Starts connecting if idle; a no-op in any other state. */
  connect(): void {
    if (this.state !== "idle") return;
    this.#open(true);
  }

  /**
   * A session with room for one more call, or undefined: then, if every ready session is
   * full and none is being opened, another is opened and the channel hears when it is ready.
   */
  pickSession(): ClientSession | undefined {
    const sessions = this.#sessions;
    for (let i = 0; i < sessions.length; i++) {
      const session = sessions[i] as ClientSession;
      if (session.hasRoom()) return session;
    }
    if (this.state === "ready" && !sessions.some((s) => !s.ready)) this.#open(false);
    return undefined;
  }

  /** Stops using the address: sessions drain, then close. */
  shutdown(): void {
    this.state = "shutdown";
    clearTimeout(this.#retryTimer);
    for (const session of [...this.#sessions]) session.close();
  }

  /** Resolves once every session is closed. */
  closed(): Promise<void> {
    if (this.#sessions.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#whenClosed.push(resolve));
  }

  #open(first: boolean): void {
    let connectTimeoutMs = 20_000;
    if (first) {
      const attempt = this.#backoff.attempt(performance.now());
      this.#nextAttemptAt = attempt.nextAttemptAt;
      connectTimeoutMs = attempt.connectTimeoutMs;
    }
    this.#sessions.push(new ClientSession(this, this.config, this.address, connectTimeoutMs));
    this.#update();
  }

  sessionReady(): void {
    this.#backoff.reset();
    this.lastError = undefined;
    this.#update(true);
  }

  sessionDraining(): void {
    this.#update(true);
    this.listener.connectionLost(this);
  }

  sessionReleased(): void {
    this.listener.roomFreed();
  }

  callEnded(ok: boolean): void {
    if (ok) this.counters.successes++;
    else this.counters.failures++;
  }

  sessionClosed(session: ClientSession, error: Error | undefined): void {
    const index = this.#sessions.indexOf(session);
    if (index >= 0) this.#sessions.splice(index, 1);
    if (this.#sessions.length === 0) for (const resolve of this.#whenClosed.splice(0)) resolve();
    if (this.state === "shutdown") return;
    if (session.ready) {
      this.#update(true);
      if (!session.draining || error) this.listener.connectionLost(this);
      return;
    }
    // An attempt failed: with no other session, wait out the backoff before the next.
    this.lastError = error ?? new Error("connection closed before the server's SETTINGS");
    if (this.#sessions.some((s) => s.ready || !s.draining)) {
      this.#update(true);
      return;
    }
    // Always through transient_failure, even when the attempt outlasted its backoff: calls
    // that must not wait for a connection fail now.
    const wait = Math.max(0, this.#nextAttemptAt - performance.now());
    this.#retryTimer = setTimeout(backoffEnded, wait, this);
    this.#retryTimer.unref();
    this.#update(true);
  }

  backoffEnded(): void {
    this.#retryTimer = undefined;
    this.#update(true);
  }

  #update(notify = false): void {
    if (this.state === "shutdown") return;
    let next: SubchannelState = "idle";
    const sessions = this.#sessions;
    if (sessions.some((s) => s.ready && !s.draining)) next = "ready";
    else if (sessions.some((s) => !s.ready && !s.draining)) next = "connecting";
    else if (this.#retryTimer !== undefined) next = "transient_failure";
    const changed = next !== this.state;
    this.state = next;
    if (changed || notify) this.listener.subchannelChanged(this);
  }
}

function backoffEnded(subchannel: Subchannel): void {
  subchannel.backoffEnded();
}

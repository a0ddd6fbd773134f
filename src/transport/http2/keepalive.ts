/**
 * HTTP/2 keepalive of one channel, as gRPC's keepalive document defines it. Shared by every
 * session of the channel, so a server's `too_many_pings` slows them all.
 */
export interface KeepaliveOptions {
  /**
   * Interval of PINGs that detect a dead connection (GRPC_ARG_KEEPALIVE_TIME_MS). Default:
   * off, as in gRPC — servers close connections that ping more often than their policy allows
   * (gRPC servers: once per 5 minutes by default), and deadlines already bound hung calls.
   */
  readonly timeMs?: number;
  /** How long to wait for a PING's ack before closing (GRPC_ARG_KEEPALIVE_TIMEOUT_MS). Default 20 s. */
  readonly timeoutMs?: number;
  /**
   * Ping even with no call open (GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS). Default false:
   * idle pings are what servers most often punish.
   */
  readonly permitWithoutCalls?: boolean;
}

/** The channel's live keepalive settings. */
export interface Keepalive {
  /** Current interval, undefined when off; doubled by `tooManyPings`. */
  readonly timeMs: number | undefined;
  readonly timeoutMs: number;
  readonly permitWithoutCalls: boolean;
  /**
   * A server sent GOAWAY ENHANCE_YOUR_CALM "too_many_pings": double the interval, as gRPC
   * clients do, so the next connection is not closed for the same reason.
   */
  tooManyPings(): void;
}

/** Keepalive from options (no minimum interval is forced: the server's policy decides). */
export function createKeepalive(options: KeepaliveOptions = {}): Keepalive {
  let timeMs = options.timeMs;
  return {
    get timeMs() {
      return timeMs;
    },
    timeoutMs: options.timeoutMs ?? 20_000,
    permitWithoutCalls: options.permitWithoutCalls ?? false,
    tooManyPings() {
      if (timeMs !== undefined) timeMs *= 2;
    },
  };
}

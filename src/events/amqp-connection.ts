import { type ChannelModel, connect, type RecoveringChannelModel } from "amqplib";

/** How to reach the broker and how to come back when it goes away. */
export interface AmqpConnectionOptions {
  /** e.g. `amqp://guest:guest@127.0.0.1:5672/`. */
  readonly url: string;
  /** First reconnect wait. Default 100 ms. */
  readonly initialDelayMs?: number;
  /** Longest reconnect wait. Default 5 s: a broker restart is back within seconds. */
  readonly maxDelayMs?: number;
  /**
   * AMQP heartbeat in seconds, which detects a dead peer when no socket error arrives (a
   * network partition). Default 10.
   */
  readonly heartbeatSeconds?: number;
  /** Called on every connection loss, for logs. Default: none. */
  readonly onDisconnect?: ((error: Error) => void) | undefined;
}

/**
 * One AMQP connection that comes back by itself. amqplib's recovery reconnects with
 * exponential backoff and jitter; channels do not survive a reconnection, so publishers and
 * subscribers register an `onConnect` hook that opens their channel and declares their
 * topology on every new connection.
 */
export interface AmqpConnection {
  /**
   * Runs `hook` with the current connection now (if connected) and with every new one after a
   * reconnection. Returns a function that unregisters it.
   */
  onConnect(hook: (model: ChannelModel) => void): () => void;
  /** The live connection, or undefined while reconnecting. */
  current(): ChannelModel | undefined;
  /** Resolves once connected (the first time); rejects when closed first. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Connects to the broker with recovery; see `AmqpConnection`. */
export async function createAmqpConnection(
  options: AmqpConnectionOptions,
): Promise<AmqpConnection> {
  let live: ChannelModel | undefined;
  const hooks = new Set<(model: ChannelModel) => void>();
  const url = new URL(options.url);
  if (!url.searchParams.has("heartbeat")) {
    url.searchParams.set("heartbeat", String(options.heartbeatSeconds ?? 10));
  }
  const recovering: RecoveringChannelModel = await connect(url.toString(), {
    // amqplib leaves Nagle's algorithm on: a lone publish or ack then waits for the broker's
    // delayed ACK (40 ms on Linux), which was most of the outbox → consumer latency.
    noDelay: true,
    recovery: {
      initialDelay: options.initialDelayMs ?? 100,
      maxDelay: options.maxDelayMs ?? 5_000,
      waitForConnect: false,
    },
  });
  recovering.on("connect", (model: ChannelModel) => {
    live = model;
    for (const hook of hooks) hook(model);
  });
  recovering.on("disconnect", (error: Error) => {
    live = undefined;
    options.onDisconnect?.(error);
  });
  // A connection error is followed by close and a reconnection; without a listener an
  // EventEmitter would throw it.
  recovering.on("error", () => {});
  return {
    onConnect(hook) {
      hooks.add(hook);
      if (live) hook(live);
      return () => hooks.delete(hook);
    },
    current: () => live,
    ready: async () => {
      await recovering.waitForConnect();
    },
    close: () => recovering.close(),
  };
}

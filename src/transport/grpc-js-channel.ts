import { Channel, type ChannelOptions, credentials } from "@grpc/grpc-js";
import { pemBuffer, type TransportTls } from "./transport-tls.js";

/** How a grpc-js channel connects: addresses, security, load balancing, keepalive, limits. */
export interface GrpcJsChannelOptions {
  /**
   * Where to connect, in gRPC name syntax: `dns:///inventory.internal:8443` (re-resolved, every
   * address used), `ipv4:127.0.0.1:9001,127.0.0.1:9002` (a fixed list), or `host:port` (same as
   * `dns:///host:port`).
   */
  readonly target: string;
  /** TLS settings; omit for cleartext HTTP/2 (h2c). */
  readonly tls?: TransportTls;
  /**
   * Load-balancing policy over the target's addresses. Default `round_robin`: every resolved
   * address gets calls, so one busy backend does not take all the traffic (grpc-js itself
   * defaults to `pick_first`, which pins every call to one connection).
   */
  readonly loadBalancing?: "round_robin" | "pick_first";
  /**
   * Interval between HTTP/2 keepalive pings while calls are open (GRPC_ARG_KEEPALIVE_TIME_MS).
   * Default: off, as in gRPC — servers close connections that ping more often than their policy
   * allows (gRPC servers: once per 5 minutes by default), and deadlines already bound hung calls.
   */
  readonly keepaliveTimeMs?: number;
  /** How long to wait for a ping's ack before closing (GRPC_ARG_KEEPALIVE_TIMEOUT_MS). Default 20 s. */
  readonly keepaliveTimeoutMs?: number;
  /**
   * Ping even with no call open (GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS). Default false:
   * idle pings are what servers most often punish.
   */
  readonly keepalivePermitWithoutCalls?: boolean;
  /** Largest response message accepted (GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH). Default 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** Largest request message sent (GRPC_ARG_MAX_SEND_MESSAGE_LENGTH). Default unlimited. */
  readonly maxSendMessageBytes?: number;
  /**
   * Further grpc-js channel options, for what is not listed above. Retry and service-config
   * settings here are overridden: see `createGrpcJsChannel`.
   */
  readonly channelOptions?: ChannelOptions;
}

/**
 * A grpc-js channel with retries off. Retries live in one layer — protomesh's resilience
 * interceptor — or they multiply: so no `retryPolicy`/`hedgingPolicy` is ever put in the service
 * config, grpc-js's own retries are disabled (`grpc.enable_retries: 0`, which grpc-js compares
 * with the number 0), and service configs published in DNS are ignored.
 */
export function createGrpcJsChannel(options: GrpcJsChannelOptions): Channel {
  const tls = options.tls;
  const channelCredentials = tls
    ? credentials.createSsl(
        pemBuffer(tls.rootCerts),
        pemBuffer(tls.privateKey),
        pemBuffer(tls.certChain),
      )
    : credentials.createInsecure();
  return new Channel(options.target, channelCredentials, grpcJsChannelOptions(options));
}

/** The grpc-js channel options `createGrpcJsChannel` uses: retries off, the rest mapped. */
export function grpcJsChannelOptions(options: GrpcJsChannelOptions): ChannelOptions {
  const tls = options.tls;
  const serviceConfig = {
    loadBalancingConfig: [{ [options.loadBalancing ?? "round_robin"]: {} }],
  };
  const channelOptions: ChannelOptions = {
    ...options.channelOptions,
    "grpc.service_config": JSON.stringify(serviceConfig),
    "grpc.service_config_disable_resolution": 1,
    "grpc.enable_retries": 0,
  };
  if (options.keepaliveTimeMs !== undefined) {
    channelOptions["grpc.keepalive_time_ms"] = options.keepaliveTimeMs;
  }
  if (options.keepaliveTimeoutMs !== undefined) {
    channelOptions["grpc.keepalive_timeout_ms"] = options.keepaliveTimeoutMs;
  }
  if (options.keepalivePermitWithoutCalls !== undefined) {
    channelOptions["grpc.keepalive_permit_without_calls"] = options.keepalivePermitWithoutCalls
      ? 1
      : 0;
  }
  if (options.maxReceiveMessageBytes !== undefined) {
    channelOptions["grpc.max_receive_message_length"] = options.maxReceiveMessageBytes;
  }
  if (options.maxSendMessageBytes !== undefined) {
    channelOptions["grpc.max_send_message_length"] = options.maxSendMessageBytes;
  }
  if (tls?.serverName !== undefined) {
    channelOptions["grpc.ssl_target_name_override"] = tls.serverName;
    channelOptions["grpc.default_authority"] = tls.serverName;
  }
  return channelOptions;
}

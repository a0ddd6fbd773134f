/** Every server default in one place; each is safe for production. */
export const serverDefaults = {
  /** Kubernetes' 30 s grace period, less time for the endpoint to leave the load balancer. */
  drainTimeoutMs: 10_000,
  /** gRPC's default (GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH). */
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  /** As Go's and Envoy's defaults: bounds the work one connection can start at once. */
  maxConcurrentStreams: 100,
  /** Twice gRPC's 8 KiB default, leaving room for tracing and auth headers. */
  maxHeaderListBytes: 16 * 1024,
  /** No cap: callers' deadlines are honoured as asked. */
  maxTimeoutMs: Number.POSITIVE_INFINITY,
  /** Idle connections are closed after 5 min, as grpc-go's MaxConnectionIdle is often set. */
  idleTimeoutMs: 5 * 60_000,
  /** Time for a client to send its preface / TLS handshake / HTTP/1.1 headers. */
  handshakeTimeoutMs: 10_000,
  metricsPath: "/metrics",
  /** TLS files are checked this often for a rotated certificate, key or CA. */
  tlsReloadIntervalMs: 5_000,
} as const;

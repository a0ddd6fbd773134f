/** Every gateway option's default, in one place (each is safe for a gateway facing the internet). */
export const gatewayDefaults = {
  /** Largest request body (REST) or message (Connect, gRPC-Web): 4 MiB, as gRPC's default. */
  maxRequestBytes: 4 * 1024 * 1024,
  /** Longest deadline a caller may ask for; longer ones are cut to this. 5 min. */
  maxTimeoutMs: 300_000,
  /** How often upstream health is checked for readiness. */
  healthIntervalMs: 5_000,
  metricsPath: "/metrics",
  readinessPath: "/readyz",
  openapiPath: "/openapi.json",
  /** How long `close()` lets in-flight calls finish. */
  drainTimeoutMs: 10_000,
  handshakeTimeoutMs: 10_000,
  maxHeaderListBytes: 16 * 1024,
} as const;

export type { Address } from "./address.js";
export type { ConnectionBackoffOptions } from "./connection-backoff.js";
export type { Http2Channel, Http2ChannelOptions } from "./http2-channel.js";
export type { Http2Transport, Http2TransportOptions } from "./http2-transport.js";
export { createHttp2Transport } from "./http2-transport.js";
export type { LoadBalancingPolicy } from "./load-balancer.js";
export type {
  FailurePercentageEjection,
  OutlierDetectionOptions,
  SuccessRateEjection,
} from "./outlier-detection.js";
export type { Resolver } from "./resolver.js";
export { createDnsResolver, createStaticResolver } from "./resolver.js";
export { waitForReady } from "./wait-for-ready.js";

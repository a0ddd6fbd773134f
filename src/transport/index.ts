export type { ConnectNodeTransportOptions } from "./connect-node-transport.js";
export { createConnectNodeTransport } from "./connect-node-transport.js";
export type { ClosableTransport, TransportOptions } from "./create-transport.js";
export { createTransport } from "./create-transport.js";
export { failedBeforeSending } from "./failed-before-sending.js";
export type { GrpcJsChannelOptions } from "./grpc-js-channel.js";
export type { GrpcJsTransport, GrpcJsTransportOptions } from "./grpc-js-transport.js";
export { createGrpcJsTransport } from "./grpc-js-transport.js";
export type {
  Address,
  ConnectionBackoffOptions,
  FailurePercentageEjection,
  Http2Channel,
  Http2ChannelOptions,
  Http2Transport,
  Http2TransportOptions,
  LoadBalancingPolicy,
  OutlierDetectionOptions,
  Resolver,
  SuccessRateEjection,
} from "./http2/index.js";
export {
  createDnsResolver,
  createHttp2Transport,
  createStaticResolver,
  waitForReady,
} from "./http2/index.js";
export { setResponseTrailer } from "./lazy-headers.js";
export type { TransportTls } from "./transport-tls.js";

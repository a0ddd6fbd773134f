/** protomesh: contracts in proto/ become typed, resilient clients and servers. */

export type {
  ClientCredentialsOptions,
  Credentials,
  EndpointAuth,
  JwtVerifierOptions,
  MethodCheck,
  ServerAuth,
  ServerAuthOptions,
  TlsFiles,
  TokenFetcher,
  TokenGrant,
  TokenSource,
  TokenSourceOptions,
  TokenVerifier,
  VerifiedToken,
} from "./auth/index.js";
export {
  authorize,
  clientCredentials,
  createJwtVerifier,
  createServerAuth,
  createTokenSource,
  identityFromCertificate,
  jwtVerifierDefaults,
  serverAuthDefaults,
  tokenSourceDefaults,
  watchTlsFiles,
} from "./auth/index.js";
export type {
  ClientAuthOptions,
  ClientOptions,
  ClientOptionsWithTransport,
  ClientOptionsWithUrl,
  MethodFallbacks,
} from "./client/index.js";
export { createClient } from "./client/index.js";
export type { CallContext, Principal } from "./context/index.js";
export { currentCallContext } from "./context/index.js";
export type { AuthMatch, Idempotency, MethodAuth, MethodContract } from "./contract/index.js";
export {
  authDefaults,
  isIdempotent,
  readMethodAuth,
  readMethodContract,
} from "./contract/index.js";
export type {
  BatchedLogDestination,
  BatchedLogDestinationOptions,
  CallObserver,
  MethodObserver,
  ObservedCall,
  ServerMetrics,
  ServerMetricsOptions,
} from "./observe/index.js";
export {
  correlationIdFrom,
  correlationIdHeader,
  createBatchedLogDestination,
  createCallObserver,
  createServerMetrics,
  tracerName,
} from "./observe/index.js";
export type {
  BackoffPolicy,
  BreakerPolicy,
  BreakerPolicyOverride,
  BreakerTrigger,
  BulkheadPolicy,
  CallPolicy,
  CallPolicyOverride,
  CircuitState,
  HedgingPolicy,
  Jitter,
  PolicyRegistry,
  PolicySources,
  ResilienceEvents,
  ResilientTransportOptions,
  RetryBudgetPolicy,
  RetryPolicy,
  RetryPolicyOverride,
} from "./resilience/index.js";
export {
  attemptsHeader,
  attemptsOf,
  callPolicyKey,
  createPolicyRegistry,
  createResilientTransport,
  defaultHedging,
  defaultPolicy,
  defaultSamplingTrigger,
  defaultStreamingPolicy,
  resolvePolicy,
} from "./resilience/index.js";
export type { GrpcJsServer, GrpcJsServerOptions } from "./server/grpc-js/index.js";
export { createGrpcJsServer } from "./server/grpc-js/index.js";
export type {
  Health,
  ListenOptions,
  Server,
  ServerAddress,
  ServerOptions,
  ServerTlsOptions,
  ServiceRegistration,
} from "./server/index.js";
export {
  createHealth,
  createServer,
  defineService,
  ServingStatus,
  serverDefaults,
} from "./server/index.js";
export type { ReflectionOptions } from "./server/reflection/index.js";
export { createReflectionServices } from "./server/reflection/index.js";
export type {
  ClosableTransport,
  ConnectNodeTransportOptions,
  GrpcJsChannelOptions,
  GrpcJsTransport,
  GrpcJsTransportOptions,
  TransportOptions,
  TransportTls,
} from "./transport/index.js";
export {
  createConnectNodeTransport,
  createGrpcJsTransport,
  createTransport,
  failedBeforeSending,
} from "./transport/index.js";

export type { GatewayCorsOptions } from "./cors.js";
export type { Gateway, GatewayAddress, GatewayOptions } from "./create-gateway.js";
export { createGateway } from "./create-gateway.js";
export { defaultForwardedHeaders } from "./forward-headers.js";
export { gatewayDefaults } from "./gateway-defaults.js";
export { httpStatusOf } from "./http-status-of.js";
export type { OpenApiDocument, OpenApiOptions } from "./openapi.js";
export { buildOpenApi } from "./openapi.js";
export type { GatewayUpstream } from "./upstream.js";

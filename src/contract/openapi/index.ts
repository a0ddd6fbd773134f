export type { OpenApiDocument, OpenApiOptions } from "./build-openapi.js";
export { buildOpenApi } from "./build-openapi.js";

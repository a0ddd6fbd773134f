// The document builder is pure contract code, shared with protoc-gen-protomesh (which writes
// the same document into gen/openapi/); the gateway serves it at /openapi.json.
export type { OpenApiDocument, OpenApiOptions } from "../contract/openapi/index.js";
export { buildOpenApi } from "../contract/openapi/index.js";

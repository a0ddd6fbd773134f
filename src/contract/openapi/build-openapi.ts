import { type DescEnum, type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import type { HttpRoute } from "../http-rule/index.js";

/** A JSON value of the OpenAPI document. */
export type OpenApiDocument = Record<string, unknown>;

export interface OpenApiOptions {
  /** `info.title`; default "protomesh gateway". */
  readonly title?: string | undefined;
  /** `info.version`; default "v1". */
  readonly version?: string | undefined;
  /** `info.description`; default none. */
  readonly description?: string | undefined;
  /**
   * Specification extensions at the document's root, e.g. `x-protomesh-source` naming the
   * proto files a generated document comes from; default none.
   */
  readonly extensions?: Readonly<Record<`x-${string}`, unknown>> | undefined;
}

// OpenAPI 3.1 knows these operations only; routes on a custom verb (e.g. SEARCH) are left out.
const openApiVerbs = new Set(["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"]);

/**
 * The OpenAPI 3.1 document of the REST surface, from the compiled routes alone (a pure
 * function of routes and their descriptors, so the code generator can emit the same file):
 * paths, path and query parameters, request and response schemas in their proto3 JSON forms,
 * and `google.rpc.Status` error responses. NDJSON for server streams. Deterministic: the same
 * routes give the same document, its paths and schemas sorted by name.
 */
export function buildOpenApi(
  routes: readonly HttpRoute[],
  options: OpenApiOptions = {},
): OpenApiDocument {
  const schemas = new Schemas();
  const paths: Record<string, Record<string, unknown>> = {};
  const ids = new Map<string, number>();
  for (const route of routes) {
    if (!openApiVerbs.has(route.httpMethod)) continue;
    const path = openApiPath(route);
    const base = `${route.method.parent.name}_${route.method.name}`;
    const n = ids.get(base) ?? 0;
    ids.set(base, n + 1);
    const operation: Record<string, unknown> = {
      operationId: n === 0 ? base : `${base}${n + 1}`,
      tags: [route.method.parent.typeName],
      parameters: [...pathParameters(route, schemas), ...queryParameters(route, schemas)],
      responses: {
        "200": {
          description: "OK",
          content: {
            [route.method.methodKind === "server_streaming"
              ? "application/x-ndjson"
              : "application/json"]: {
              schema: route.responseBody
                ? schemas.field(route.responseBody)
                : schemas.ref(route.method.output),
            },
          },
        },
        default: {
          description: "An error, as google.rpc.Status (code, message, details).",
          content: {
            "application/json": { schema: { $ref: "#/components/schemas/google.rpc.Status" } },
          },
        },
      },
    };
    if (route.body.kind !== "none") {
      operation.requestBody = {
        required: true,
        content: {
          "application/json": {
            schema:
              route.body.kind === "all"
                ? schemas.ref(route.method.input)
                : schemas.field(route.body.field),
          },
        },
      };
    }
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[route.httpMethod.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: options.title ?? "protomesh gateway",
      version: options.version ?? "v1",
      ...(options.description === undefined ? {} : { description: options.description }),
    },
    ...options.extensions,
    // Paths and schemas by name: the document's bytes follow the contract, not the order in
    // which methods are declared or schemas first met.
    paths: sortedByKey(paths),
    components: {
      schemas: sortedByKey({ ...schemas.all, "google.rpc.Status": statusSchema }),
    },
  };
}

function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key] as T;
  return out;
}

const statusSchema = {
  type: "object",
  properties: {
    code: { type: "integer", format: "int32", description: "The gRPC status code." },
    message: { type: "string" },
    details: {
      type: "array",
      items: {
        type: "object",
        properties: { "@type": { type: "string" } },
        additionalProperties: true,
      },
    },
  },
};

/** `/v1/{name=shelves/*}:cancel` → `/v1/{name}:cancel`; a bare `*` becomes a named parameter. */
function openApiPath(route: HttpRoute): string {
  const t = route.template;
  const parts: string[] = [];
  let unnamed = 0;
  for (let i = 0; i < t.segments.length; i++) {
    const variable = t.variables.find((v) => v.start === i);
    if (variable) {
      parts.push(`{${variable.fieldPath.join(".")}}`);
      i = variable.end - 1;
      continue;
    }
    const s = t.segments[i];
    if (s?.kind === "literal") parts.push(s.value);
    else parts.push(`{_${s?.kind === "deep" ? "path" : "segment"}${unnamed++}}`);
  }
  return `/${parts.join("/")}${t.verb === undefined ? "" : `:${t.verb}`}`;
}

function pathParameters(route: HttpRoute, schemas: Schemas): unknown[] {
  const out: unknown[] = route.pathBindings.map((b) => {
    const shape = route.template.segments
      .slice(b.variable.start, b.variable.end)
      .map((s) => (s.kind === "literal" ? s.value : s.kind === "wildcard" ? "*" : "**"))
      .join("/");
    return {
      name: b.variable.fieldPath.join("."),
      in: "path",
      required: true,
      schema: schemas.field(b.fields[b.fields.length - 1] as DescField),
      ...(b.variable.multiSegment ? { description: `Matches ${shape}` } : {}),
    };
  });
  return out;
}

function queryParameters(route: HttpRoute, schemas: Schemas): unknown[] {
  if (route.body.kind === "all") return [];
  const out: unknown[] = [];
  const bound = new Set(route.pathBindings.map((b) => b.fields.map((f) => f.name).join(".")));
  const walk = (message: DescMessage, prefix: string, depth: number) => {
    for (const field of message.fields) {
      if (depth === 0 && route.body.kind === "field" && route.body.field === field) continue;
      const name = prefix + field.name;
      if (bound.has(name)) continue;
      if (
        field.fieldKind === "message" &&
        !stringWkt.has(field.message.typeName) &&
        !wrapperType(field.message)
      ) {
        if (depth < 3) walk(field.message, `${name}.`, depth + 1);
        continue;
      }
      if (field.fieldKind === "map") {
        // `name[key]=value`, as the gateway reads it: OpenAPI's deepObject style says that.
        if (field.mapKind !== "message") {
          const schema = schemas.field(field);
          out.push({
            name,
            in: "query",
            required: false,
            style: "deepObject",
            explode: true,
            schema,
          });
        }
        continue;
      }
      if (field.fieldKind === "list" && field.listKind === "message") continue;
      out.push({ name, in: "query", required: false, schema: schemas.field(field) });
    }
  };
  walk(route.method.input, "", 0);
  return out;
}

const stringWkt = new Map<string, Record<string, unknown>>([
  ["google.protobuf.Timestamp", { type: "string", format: "date-time" }],
  ["google.protobuf.Duration", { type: "string", pattern: "^-?\\d+(\\.\\d+)?s$" }],
  [
    "google.protobuf.FieldMask",
    { type: "string", description: "Comma-separated lowerCamel paths." },
  ],
]);

function wrapperType(message: DescMessage): DescField | undefined {
  return message.typeName.startsWith("google.protobuf.") &&
    message.typeName.endsWith("Value") &&
    message.fields.length === 1 &&
    message.fields[0]?.name === "value"
    ? message.fields[0]
    : undefined;
}

/** The JSON Schemas of messages and enums, each once, by full name. */
class Schemas {
  readonly all: Record<string, unknown> = {};

  ref(message: DescMessage): Record<string, unknown> {
    const wkt = this.wkt(message);
    if (wkt) return wkt;
    if (!(message.typeName in this.all)) {
      this.all[message.typeName] = {}; // placeholder against recursion
      const properties: Record<string, unknown> = {};
      for (const f of message.fields) properties[f.jsonName] = this.field(f);
      this.all[message.typeName] = { type: "object", properties };
    }
    return { $ref: `#/components/schemas/${message.typeName}` };
  }

  field(field: DescField): Record<string, unknown> {
    switch (field.fieldKind) {
      case "scalar":
        return scalarSchema(field.scalar);
      case "enum":
        return this.enumRef(field.enum);
      case "message":
        return this.ref(field.message);
      case "list":
        return {
          type: "array",
          items:
            field.listKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.listKind === "enum"
                ? this.enumRef(field.enum)
                : this.ref(field.message),
        };
      case "map":
        return {
          type: "object",
          additionalProperties:
            field.mapKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.mapKind === "enum"
                ? this.enumRef(field.enum)
                : this.ref(field.message),
        };
    }
  }

  private enumRef(e: DescEnum): Record<string, unknown> {
    this.all[e.typeName] ??= { type: "string", enum: e.values.map((v) => v.name) };
    return { $ref: `#/components/schemas/${e.typeName}` };
  }

  private wkt(message: DescMessage): Record<string, unknown> | undefined {
    const known = stringWkt.get(message.typeName);
    if (known) return known;
    const inner = wrapperType(message);
    if (inner) return { ...this.field(inner), description: `${message.name}: null when unset` };
    switch (message.typeName) {
      case "google.protobuf.Empty":
        return { type: "object" };
      case "google.protobuf.Struct":
        return { type: "object", additionalProperties: true };
      case "google.protobuf.Value":
        return {};
      case "google.protobuf.Any":
        return {
          type: "object",
          properties: { "@type": { type: "string" } },
          additionalProperties: true,
        };
      default:
        return undefined;
    }
  }
}

function scalarSchema(t: ScalarType): Record<string, unknown> {
  switch (t) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0 };
    default:
      return { type: "integer", format: "int32" };
  }
}

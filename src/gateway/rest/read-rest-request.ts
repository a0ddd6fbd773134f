import {
  create,
  type DescField,
  type DescMessage,
  fromJson,
  type JsonReadOptions,
  type JsonValue,
  type Message,
  ScalarType,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type HttpRoute, resolveFieldPath } from "../../contract/http-rule/index.js";
import type { RouteMatch } from "./route-table.js";

type JsonObject = { [k: string]: JsonValue };

/**
 * Builds a route's request message from the HTTP request, as `google.api.http` says: the body
 * (all of it, one field, or none), then every query parameter (nested `a.b`, repeated keys,
 * map entries as `labels[key]=value` the way grpc-gateway reads them, lowerCamel or proto
 * names) and last the path variables, into one JSON object read by
 * protobuf-es's `fromJson` once. Bad input throws ConnectError InvalidArgument naming the
 * field or the JSON position (the gateway answers 400).
 */
export function readRestRequest(
  match: RouteMatch,
  query: string,
  body: Buffer | undefined,
  queryFields: QueryFieldCache,
  jsonOptions: Partial<JsonReadOptions>,
): Message {
  const { route, segments } = match;
  if (query === "" && (route.body.kind === "none" || body === undefined || body.length === 0)) {
    const direct = directPlanOf(route);
    if (direct) return readDirect(route, segments, direct);
  }
  const root = bodyJson(route, body);
  if (query !== "") readQuery(route, query, root, queryFields);
  for (const binding of route.pathBindings) {
    const { variable, fields } = binding;
    const end = variable.end === route.template.segments.length ? segments.length : variable.end;
    const raw = segments.slice(variable.start, end).join("/");
    const value = decodePathValue(raw, variable.multiSegment, fields);
    setJson(root, fields, scalarJson(fields[fields.length - 1] as DescField, value, fields), false);
  }
  try {
    return fromJson(route.method.input, root, jsonOptions);
  } catch (e) {
    throw new ConnectError(
      `invalid request: ${e instanceof Error ? e.message : String(e)}`,
      Code.InvalidArgument,
      undefined,
      undefined,
      e,
    );
  }
}

/**
 * Per route: the message field names of its path variables when each is a singular string
 * field of the request itself (no oneof, no nesting), e.g. `{order_id}` or
 * `{name=shelves/*}`; null when any is not. Such a request with no query and no body is
 * set on a new message directly, the same message `fromJson` would build, without the JSON
 * object between them (a JSON root, `fromJson`'s state, a Map and a Set per call).
 */
const directPlans = new WeakMap<HttpRoute, readonly string[] | null>();

function directPlanOf(route: HttpRoute): readonly string[] | null {
  let plan = directPlans.get(route);
  if (plan === undefined) {
    const names: string[] = [];
    for (const { fields } of route.pathBindings) {
      const field = fields[0] as DescField;
      if (
        fields.length !== 1 ||
        field.fieldKind !== "scalar" ||
        field.scalar !== ScalarType.STRING ||
        field.oneof !== undefined
      ) {
        directPlans.set(route, null);
        return null;
      }
      names.push(field.localName);
    }
    plan = names;
    directPlans.set(route, plan);
  }
  return plan;
}

function readDirect(
  route: HttpRoute,
  segments: readonly string[],
  localNames: readonly string[],
): Message {
  const message = create(route.method.input) as unknown as Record<string, unknown>;
  const bindings = route.pathBindings;
  for (let i = 0; i < bindings.length; i++) {
    const { variable, fields } = bindings[i] as (typeof bindings)[number];
    const end = variable.end === route.template.segments.length ? segments.length : variable.end;
    const raw =
      end === variable.start + 1
        ? (segments[variable.start] as string)
        : segments.slice(variable.start, end).join("/");
    message[localNames[i] as string] = decodePathValue(raw, variable.multiSegment, fields);
  }
  return message as unknown as Message;
}

/** Query parameter name → the fields it names, per route; only names that resolved are kept. */
export type QueryFieldCache = Map<HttpRoute, Map<string, readonly DescField[]>>;

function bodyJson(route: HttpRoute, body: Buffer | undefined): JsonObject {
  if (route.body.kind === "none" || body === undefined || body.length === 0) return {};
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(body.toString("utf8")) as JsonValue;
  } catch (e) {
    // V8 names the position: "Unexpected token } in JSON at position 12".
    throw invalid(`malformed JSON body: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (route.body.kind === "field") return { [route.body.field.jsonName]: parsed };
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw invalid(`the body must be a JSON object for ${route.method.input.typeName}`);
  }
  return parsed;
}

function readQuery(route: HttpRoute, query: string, root: JsonObject, cache: QueryFieldCache) {
  let byName = cache.get(route);
  if (!byName) {
    byName = new Map();
    cache.set(route, byName);
  }
  const seen = new Set<string>();
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decodeQuery(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? "" : decodeQuery(pair.slice(eq + 1));
    // `labels[key]`: an entry of the map field `labels`. The cache holds the field's name
    // only, so callers' keys cannot grow it.
    const open = name.endsWith("]") ? name.indexOf("[") : -1;
    const fieldName = open > 0 ? name.slice(0, open) : name;
    let fields = byName.get(fieldName);
    if (!fields) {
      fields = resolveQueryField(route, fieldName, name);
      byName.set(fieldName, fields);
    }
    const last = fields[fields.length - 1] as DescField;
    const path = fields.map((f) => f.name).join(".");
    if (last.fieldKind === "map") {
      if (open <= 0) {
        throw invalid(`query parameter "${name}" names a map: give each entry as ${name}[key]=`);
      }
      const mapKey = name.slice(open + 1, -1);
      checkMapKey(last, mapKey, path);
      const entry = `${path}[${mapKey}]`;
      if (seen.has(entry)) throw invalid(`query parameter "${name}" given more than once`);
      seen.add(entry);
      setMapEntry(root, fields, mapKey, scalarJson(last, value, fields));
      continue;
    }
    if (open > 0) throw invalid(`query parameter "${name}": ${fieldName} is not a map field`);
    const repeated = last.fieldKind === "list";
    if (!repeated) {
      if (seen.has(path)) throw invalid(`query parameter "${name}" given more than once`);
      seen.add(path);
    }
    setJson(root, fields, scalarJson(last, value, fields), repeated);
  }
}

/** `name` is the field path (`filter.labels`); `given` the parameter as sent, for errors. */
function resolveQueryField(route: HttpRoute, name: string, given: string): readonly DescField[] {
  const fields = resolveFieldPath(route.method.input, name.split("."), true);
  if (typeof fields === "string") throw invalid(`unknown query parameter "${given}"`);
  const first = fields[0];
  if (route.body.kind === "all" || (route.body.kind === "field" && route.body.field === first)) {
    throw invalid(`unknown query parameter "${given}": the field is read from the body`);
  }
  for (const binding of route.pathBindings) {
    if (
      binding.fields.every((f, i) => fields[i] === f) ||
      fields.every((f, i) => binding.fields[i] === f)
    ) {
      throw invalid(`unknown query parameter "${given}": the field is bound by the path`);
    }
  }
  const last = fields[fields.length - 1] as DescField;
  if (last.fieldKind === "map" && last.mapKind === "message") {
    throw invalid(`query parameter "${given}": a map of messages cannot be set from the query`);
  }
  const message = messageOf(last);
  if (message && !jsonScalarMessages.has(message.typeName) && !wrapperTypes.has(message.typeName)) {
    throw invalid(`query parameter "${given}" names a message: set its fields (${name}.x=)`);
  }
  return fields;
}

// Well-known types whose JSON form is a string.
const jsonScalarMessages = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
]);
const wrapperTypes = new Set(
  ["Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes"].map(
    (t) => `google.protobuf.${t}Value`,
  ),
);

function messageOf(field: DescField): DescMessage | undefined {
  if (field.fieldKind === "message") return field.message;
  if (field.fieldKind === "list" && field.listKind === "message") return field.message;
  return undefined;
}

const integer = /^-?\d+$/;

/** A query or path string as the JSON value `fromJson` reads for the field; 400 if it cannot be. */
function scalarJson(field: DescField, value: string, path: readonly DescField[]): JsonValue {
  const message = messageOf(field);
  if (message) {
    if (wrapperTypes.has(message.typeName)) {
      const inner = message.fields[0] as DescField;
      return scalarJson(inner, value, path);
    }
    return value; // Timestamp, Duration, FieldMask: fromJson checks their string forms
  }
  const shown = () => path.map((f) => f.name).join(".");
  const bad = (kind: string) =>
    invalid(`invalid value "${value}" for field ${shown()}: expected ${kind}`);
  if (
    field.fieldKind === "enum" ||
    (field.fieldKind === "list" && field.listKind === "enum") ||
    (field.fieldKind === "map" && field.mapKind === "enum")
  ) {
    const e = field.enum;
    if (integer.test(value)) return Number(value);
    if (e.values.some((v) => v.name === value)) return value;
    throw bad(`a value of ${e.typeName}`);
  }
  const scalar =
    field.fieldKind === "scalar" || field.fieldKind === "list" || field.fieldKind === "map"
      ? field.scalar
      : undefined;
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return value;
    case ScalarType.BOOL:
      if (value === "true") return true;
      if (value === "false") return false;
      throw bad("true or false");
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      if (!integer.test(value)) throw bad("an integer");
      return value;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      if (value === "NaN" || value === "Infinity" || value === "-Infinity") return value;
      if (value.trim() === "" || Number.isNaN(Number(value))) throw bad("a number");
      return Number(value);
    case undefined:
      throw bad("a scalar");
    default:
      if (!integer.test(value)) throw bad("an integer");
      return Number(value);
  }
}

function setJson(
  root: JsonObject,
  fields: readonly DescField[],
  value: JsonValue,
  append: boolean,
) {
  const node = objectAt(root, fields, fields.length - 1);
  const name = (fields[fields.length - 1] as DescField).jsonName;
  if (!append) {
    node[name] = value;
    return;
  }
  const list = node[name];
  if (Array.isArray(list)) list.push(value);
  else node[name] = [value];
}

/** A map key as its JSON form must spell it: an integer for integer keys, true or false. */
function checkMapKey(field: DescField & { fieldKind: "map" }, key: string, path: string): void {
  const expected =
    field.mapKey === ScalarType.STRING
      ? undefined
      : field.mapKey === ScalarType.BOOL
        ? key === "true" || key === "false"
          ? undefined
          : "true or false"
        : integer.test(key)
          ? undefined
          : "an integer";
  if (expected) throw invalid(`invalid map key "${key}" for field ${path}: expected ${expected}`);
}

/**
 * Sets one entry of a map field's JSON object, made on first use. A key is set as an own
 * property, so `__proto__` is an entry like any other, not the object's prototype.
 */
function setMapEntry(
  root: JsonObject,
  fields: readonly DescField[],
  key: string,
  value: JsonValue,
): void {
  const map = objectAt(root, fields, fields.length);
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The JSON object at the first `depth` fields of `fields` under `root`, made where missing. */
function objectAt(root: JsonObject, fields: readonly DescField[], depth: number): JsonObject {
  let node = root;
  for (let i = 0; i < depth; i++) {
    const name = (fields[i] as DescField).jsonName;
    let next = node[name];
    if (next === null || typeof next !== "object" || Array.isArray(next)) {
      next = {};
      node[name] = next;
    }
    node = next;
  }
  return node;
}

/**
 * Percent-decoding of a path variable, as google.api.http specifies: a single-segment variable
 * decodes everything (`%2F` becomes `/`); a multi-segment one keeps `%2F` as it is.
 */
function decodePathValue(raw: string, multiSegment: boolean, fields: readonly DescField[]): string {
  if (raw.indexOf("%") === -1) return raw;
  try {
    return decodeURIComponent(multiSegment ? raw.replace(/%2f/gi, "%252F") : raw);
  } catch (e) {
    throw invalid(`path variable ${fields.map((f) => f.name).join(".")}: bad percent-encoding`, e);
  }
}

function decodeQuery(s: string): string {
  try {
    return decodeURIComponent(s.includes("+") ? s.replace(/\+/g, " ") : s);
  } catch (e) {
    throw invalid(`query string: bad percent-encoding in "${s}"`, e);
  }
}

function invalid(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.InvalidArgument, undefined, undefined, cause);
}

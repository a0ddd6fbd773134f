import type { DescService } from "@bufbuild/protobuf";
import { expect, it } from "vitest";
import { compileHttpRules } from "../../src/contract/http-rule/index.js";
import { buildOpenApi, createGateway } from "../../src/gateway/index.js";
import { loadTestRegistry } from "./support/load-test-registry.js";

// biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
type Json = any;

const service = () =>
  loadTestRegistry().getService("protomesh.resttest.v1.LibraryService") as DescService;

it("builds OpenAPI 3.1 from the compiled routes: paths, parameters, schemas, errors", () => {
  const doc: Json = buildOpenApi(compileHttpRules([service()]));
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths)).toEqual(
    expect.arrayContaining([
      "/v1/{name}",
      "/v1/books/{name}",
      "/v1/shelves/{shelf.id}/books",
      "/v1/books/{book_id}",
      "/v1/search",
      "/v1/{name}:cancel",
      "/v1/files/{path}",
      "/v1/shelves/{shelf}/books:stream",
    ]),
  );
  // A custom HTTP verb has no place in OpenAPI.
  expect(doc.paths["/v1/describe/{topic}"]).toBeUndefined();
  const get = doc.paths["/v1/{name}"].get;
  expect(get.parameters).toEqual([
    {
      name: "name",
      in: "path",
      required: true,
      schema: { type: "string" },
      description: "Matches shelves/*/books/*",
    },
  ]);
  expect(Object.keys(doc.paths["/v1/books/{book_id}"]).sort()).toEqual(["delete", "patch", "put"]);
  const search = doc.paths["/v1/search"].get;
  const byName = Object.fromEntries(search.parameters.map((p: Json) => [p.name, p]));
  expect(byName.page_size.schema).toEqual({ type: "integer", format: "int32" });
  expect(byName.tags.schema).toEqual({ type: "array", items: { type: "string" } });
  expect(byName.min_pages.schema).toEqual({ type: "string", format: "int64" });
  expect(byName.since.schema).toEqual({ type: "string", format: "date-time" });
  expect(byName["filter.year.from"].in).toBe("query");
  expect(byName.genre.schema).toEqual({ $ref: "#/components/schemas/protomesh.resttest.v1.Genre" });
  // Map entries as labels[key]=value: OpenAPI's deepObject style; a map of messages is not listed.
  expect(byName.labels).toEqual({
    name: "labels",
    in: "query",
    required: false,
    style: "deepObject",
    explode: true,
    schema: { type: "object", additionalProperties: { type: "string" } },
  });
  expect(byName["filter.flags"].style).toBe("deepObject");
  expect(byName.genre_by_rank.schema.additionalProperties).toEqual({
    $ref: "#/components/schemas/protomesh.resttest.v1.Genre",
  });
  expect(byName.ranges).toBeUndefined();
  const create = doc.paths["/v1/shelves/{shelf.id}/books"].post;
  expect(create.requestBody.content["application/json"].schema).toEqual({
    $ref: "#/components/schemas/protomesh.resttest.v1.Book",
  });
  expect(create.parameters.map((p: Json) => `${p.in}:${p.name}`)).toEqual([
    "path:shelf.id",
    "query:request_id",
  ]);
  expect(doc.components.schemas["protomesh.resttest.v1.Book"].properties.pageCount).toEqual({
    type: "string",
    format: "int64",
  });
  expect(get.responses.default.content["application/json"].schema.$ref).toBe(
    "#/components/schemas/google.rpc.Status",
  );
  expect(
    Object.keys(doc.paths["/v1/shelves/{shelf}/books:stream"].get.responses["200"].content),
  ).toEqual(["application/x-ndjson"]);
  // response_body: the field's schema, not the whole response.
  expect(
    doc.paths["/v1/files/{path}"].get.responses["200"].content["application/json"].schema.$ref,
  ).toBe("#/components/schemas/protomesh.resttest.v1.FileContent");
  // The pure builder takes every route it is given; the gateway compiles public methods only.
  expect(doc.paths["/v1/secret/{topic}"]).toBeDefined();
});

it("serves it at /openapi.json, without internal methods", async () => {
  const gateway = createGateway({
    upstreams: [{ services: [service()], baseUrl: "http://127.0.0.1:1" }],
    logger: false,
  });
  const { url } = await gateway.listen();
  try {
    const res = await fetch(`${url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc: Json = await res.json();
    expect(doc.paths["/v1/search"].get.operationId).toBe("LibraryService_Search");
    expect(doc.paths["/v1/secret/{topic}"]).toBeUndefined();
  } finally {
    await gateway.close();
  }
});

// Server reflection proven with a client no one here wrote: @grpc/grpc-js + @grpc/proto-loader
// loading the reflection .proto directly; the answers alone are then enough to call the order
// service, with no generated code.
import { create, createFileRegistry, type DescService, fromBinary } from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  MethodOptions_IdempotencyLevel,
} from "@bufbuild/protobuf/wkt";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInventoryService } from "../../examples/order-mesh/inventory-service.js";
import { demoStock } from "../../examples/order-mesh/mesh.js";
import { createOrderService } from "../../examples/order-mesh/order-service.js";
import { InventoryService } from "../../gen/acme/inventory/v1/inventory_service_pb.js";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createServer, defineService, type Server } from "../../src/server/index.js";

/** The response shape proto-loader gives (oneofs: true names the set case). */
interface ReflectionResponse {
  messageResponse: string;
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  listServicesResponse?: { service: { name: string }[] };
  allExtensionNumbersResponse?: { baseTypeName: string; extensionNumber: number[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

type Stream = grpc.ClientDuplexStream<object, ReflectionResponse>;
type ReflectionClient = grpc.Client & { serverReflectionInfo(): Stream };

let server: Server;
let url: string;
let target: string;

beforeAll(async () => {
  const inventory = createClient(
    InventoryService,
    createRouterTransport(({ service }) =>
      service(InventoryService, createInventoryService(demoStock)),
    ),
  );
  const services = [defineService(OrderService, createOrderService({ inventory }))];
  // Reflection (and health) come with every createServer by default.
  server = createServer({ services });
  const address = await server.listen();
  url = address.url;
  target = `${address.host}:${address.port}`;
});
afterAll(() => server.close());

/** Sends each request on one reflection stream and collects one answer per request. */
async function ask(client: ReflectionClient, requests: object[]): Promise<ReflectionResponse[]> {
  const stream = client.serverReflectionInfo();
  const answers: ReflectionResponse[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on("data", (answer: ReflectionResponse) => answers.push(answer));
    stream.on("error", reject);
    stream.on("end", resolve);
  });
  for (const request of requests) stream.write(request);
  stream.end();
  await done;
  return answers;
}

describe.each(["v1", "v1alpha"])(
  "grpc.reflection.%s with a grpc-js + proto-loader client",
  (version) => {
    let client: ReflectionClient;
    beforeAll(() => {
      const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, {
        includeDirs: ["proto"],
        oneofs: true,
      });
      const loaded = grpc.loadPackageDefinition(definition) as unknown as {
        grpc: { reflection: Record<string, { ServerReflection: grpc.ServiceClientConstructor }> };
      };
      const Ctor = loaded.grpc.reflection[version]?.ServerReflection;
      if (!Ctor) throw new Error("reflection service not loaded");
      client = new Ctor(target, grpc.credentials.createInsecure()) as unknown as ReflectionClient;
    });
    afterAll(() => client.close());

    it("lists the registered services and itself", async () => {
      const [answer] = await ask(client, [{ listServices: "" }]);
      expect(answer?.messageResponse).toBe("listServicesResponse");
      expect(answer?.listServicesResponse?.service.map((s) => s.name).sort()).toEqual([
        "acme.order.v1.OrderService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]);
    });

    it("sends a symbol's file with its transitive dependencies, each once per stream", async () => {
      const [first, second] = await ask(client, [
        { fileContainingSymbol: "acme.order.v1.OrderService" },
        { fileContainingSymbol: "acme.order.v1.GetOrderRequest" },
      ]);
      const names = (answer: ReflectionResponse | undefined) =>
        (answer?.fileDescriptorResponse?.fileDescriptorProto ?? []).map(
          (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
        );
      const firstNames = names(first);
      expect(firstNames[0]).toBe("acme/order/v1/order_service.proto");
      expect(firstNames).toEqual(
        expect.arrayContaining([
          "acme/common/v1/money.proto",
          "google/api/annotations.proto",
          "google/api/http.proto",
          "google/protobuf/descriptor.proto",
          "google/protobuf/duration.proto",
          "google/protobuf/timestamp.proto",
          "protomesh/options/v1/options.proto",
        ]),
      );
      expect(new Set(firstNames).size).toBe(firstNames.length);
      // Same stream, same file: only the file itself comes again, not its dependencies.
      expect(names(second)).toEqual(["acme/order/v1/order_service.proto"]);
    });

    it("answers file_by_filename, and extension questions from the imported option files", async () => {
      const [byName, numbers, extension] = await ask(client, [
        { fileByFilename: "acme/common/v1/money.proto" },
        { allExtensionNumbersOfType: "google.protobuf.MethodOptions" },
        {
          fileContainingExtension: {
            containingType: "google.protobuf.MethodOptions",
            extensionNumber: 51730,
          },
        },
      ]);
      const first = byName?.fileDescriptorResponse?.fileDescriptorProto[0];
      expect(first && fromBinary(FileDescriptorProtoSchema, first).name).toBe(
        "acme/common/v1/money.proto",
      );
      expect(numbers?.allExtensionNumbersResponse?.extensionNumber).toContain(51730);
      const file = extension?.fileDescriptorResponse?.fileDescriptorProto[0];
      expect(file && fromBinary(FileDescriptorProtoSchema, file).name).toBe(
        "protomesh/options/v1/options.proto",
      );
    });

    it("answers NOT_FOUND for unknown names, and the stream carries on", async () => {
      const answers = await ask(client, [
        { fileContainingSymbol: "acme.nothing.v1.Nope" },
        { fileByFilename: "nope.proto" },
        { listServices: "" },
      ]);
      expect(answers.map((a) => a.messageResponse)).toEqual([
        "errorResponse",
        "errorResponse",
        "listServicesResponse",
      ]);
      expect(answers[0]?.errorResponse?.errorCode).toBe(grpc.status.NOT_FOUND);
      expect(answers[0]?.errorResponse?.errorMessage).toContain("acme.nothing.v1.Nope");
    });

    it("gives enough to call the order service with no generated code", async () => {
      const [answer] = await ask(client, [{ fileContainingSymbol: "acme.order.v1.OrderService" }]);
      const files = (answer?.fileDescriptorResponse?.fileDescriptorProto ?? []).map((bytes) =>
        fromBinary(FileDescriptorProtoSchema, bytes),
      );
      const registry = createFileRegistry(
        create(FileDescriptorSetSchema, { file: importsFirst(files) }),
      );
      const service = registry.getService("acme.order.v1.OrderService") as DescService;
      expect(service).toBeDefined();
      // Options survive: the retry layer reads idempotency from these descriptors.
      const getOrder = service.methods.find((m) => m.name === "GetOrder");
      expect(getOrder?.idempotency).toBe(MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS);

      // A dynamic client: its methods are only known at run time, from the descriptors above.
      const orders = createClient(service, createGrpcTransport({ baseUrl: url })) as unknown as {
        createOrder(request: object): Promise<{ order?: object }>;
      };
      const created = await orders.createOrder({
        customerId: "cus_reflect",
        items: [
          { sku: "sku-mug", quantity: 1, unitPrice: { currencyCode: "EUR", units: 3n, nanos: 0 } },
        ],
      });
      expect(created.order).toMatchObject({ customerId: "cus_reflect", total: { units: 3n } });
    });
  },
);

/**
 * Reflection sends the asked-for file first and its imports after; a FileDescriptorSet for
 * createFileRegistry must list every file after its imports.
 */
function importsFirst(files: readonly FileDescriptorProto[]): FileDescriptorProto[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const ordered: FileDescriptorProto[] = [];
  const visit = (file: FileDescriptorProto | undefined): void => {
    if (!file || ordered.includes(file)) return;
    for (const name of file.dependency) visit(byName.get(name));
    ordered.push(file);
  };
  for (const file of files) visit(file);
  return ordered;
}

/**
 * The bench's 100-byte echo: `bench.echo.v1.EchoService/Echo` takes and returns an
 * acme.inventory.v1.CheckStockRequest (an existing generated message), declared here in memory
 * so the bench adds no contract to proto/.
 */
import {
  create,
  createFileRegistry,
  type DescService,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import {
  type CheckStockRequest,
  CheckStockRequestSchema,
  file_acme_inventory_v1_inventory_service,
} from "../gen/acme/inventory/v1/inventory_service_pb.js";

const file = create(FileDescriptorProtoSchema, {
  name: "bench/echo/v1/echo.proto",
  package: "bench.echo.v1",
  syntax: "proto3",
  dependency: ["acme/inventory/v1/inventory_service.proto"],
  service: [
    {
      name: "EchoService",
      method: [
        {
          name: "Echo",
          inputType: ".acme.inventory.v1.CheckStockRequest",
          outputType: ".acme.inventory.v1.CheckStockRequest",
        },
      ],
    },
  ],
});

const registry = createFileRegistry(file, (name) =>
  name === "acme/inventory/v1/inventory_service.proto"
    ? file_acme_inventory_v1_inventory_service
    : undefined,
);

export const EchoService = registry.getService("bench.echo.v1.EchoService") as DescService;
export const echoPath = "/bench.echo.v1.EchoService/Echo";
export type EchoMessage = CheckStockRequest;
export const EchoMessageSchema = CheckStockRequestSchema;

/** Five 18-character SKUs: 100 bytes on the wire. */
export const echoRequest = create(CheckStockRequestSchema, {
  skus: [
    "sku-000001-abcdefg",
    "sku-000002-abcdefg",
    "sku-000003-abcdefg",
    "sku-000004-abcdefg",
    "sku-000005-abcdefg",
  ],
});

/** The request as one gRPC frame (flag byte, length, payload): h2load's body. */
export function echoGrpcBody(): Buffer {
  const bytes = toBinary(CheckStockRequestSchema, echoRequest);
  const body = Buffer.alloc(5 + bytes.length);
  body.writeUInt32BE(bytes.length, 1);
  body.set(bytes, 5);
  return body;
}

/** The request as Connect JSON. */
export function echoJsonBody(): Buffer {
  return Buffer.from(toJsonString(CheckStockRequestSchema, echoRequest));
}

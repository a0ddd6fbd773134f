import type { DescService } from "@bufbuild/protobuf";
import {
  type Client,
  createClient as createConnectClient,
  type Interceptor,
} from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

export interface ClientOptions {
  /** Where the service listens, e.g. `http://127.0.0.1:8080` (h2c) or `https://…` (TLS). */
  readonly baseUrl: string;
  /** Run around every call, outermost first. */
  readonly interceptors?: readonly Interceptor[];
}

/** A typed client for a generated service, speaking gRPC over HTTP/2. */
export function createClient<S extends DescService>(service: S, options: ClientOptions): Client<S> {
  const transport = createGrpcTransport({
    baseUrl: options.baseUrl,
    interceptors: [...(options.interceptors ?? [])],
  });
  return createConnectClient(service, transport);
}

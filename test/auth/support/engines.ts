import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { GuardedService } from "../../../gen/protomesh/testing/v1/guarded_pb.js";
import type { ServerAuthOptions, TokenVerifier } from "../../../src/auth/index.js";
import { createGateway } from "../../../src/gateway/index.js";
import { createGrpcJsServer } from "../../../src/server/grpc-js/index.js";
import { createServer } from "../../../src/server/index.js";
import { guardedService } from "./guarded-service.js";

/** One way in: an engine and the protocol a client reaches it with. */
export interface Engine {
  readonly name: string;
  readonly client: Client<typeof GuardedService>;
}

export interface Engines {
  readonly engines: readonly Engine[];
  /**
   * A gateway with the same auth options in front of a server that takes any bearer token as
   * granting every scope and role, so whatever the gateway refuses with a token was refused at
   * the edge.
   */
  readonly gateway: { readonly url: string; readonly client: Client<typeof GuardedService> };
  close(): Promise<void>;
}

/**
 * GuardedService with the same auth options on every engine: the lean engine (gRPC and Connect
 * unary), connect-node (gRPC-Web) and the grpc-js binding, each over a real socket.
 */
export async function startEngines(auth: ServerAuthOptions | undefined): Promise<Engines> {
  const server = createServer({ services: [guardedService()], logger: false, auth });
  const grpcJs = createGrpcJsServer({ services: [guardedService()], logger: false, auth });
  const open = createServer({
    services: [guardedService()],
    logger: false,
    auth: { tokens: trustAnyToken },
  });
  const url = (await server.listen()).url;
  const grpcJsUrl = (await grpcJs.listen()).url;
  const gateway = createGateway({
    upstreams: [{ services: [GuardedService], baseUrl: (await open.listen()).url }],
    logger: false,
    auth,
  });
  const gatewayUrl = (await gateway.listen()).url;
  const on = (name: string, transport: Transport): Engine => ({
    name,
    client: createClient(GuardedService, transport),
  });
  return {
    engines: [
      on("lean gRPC", createGrpcTransport({ baseUrl: url })),
      on("lean Connect", createConnectTransport({ baseUrl: url, httpVersion: "2" })),
      on("connect-node gRPC-Web", createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" })),
      on("grpc-js", createGrpcTransport({ baseUrl: grpcJsUrl })),
    ],
    gateway: {
      url: gatewayUrl,
      client: createClient(
        GuardedService,
        createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "1.1" }),
      ),
    },
    async close() {
      await gateway.close();
      await Promise.all([server.close(), grpcJs.close(), open.close()]);
    },
  };
}

/** Call options carrying a bearer token. */
export function bearer(token: string): { headers: Record<string, string> } {
  return { headers: { authorization: `Bearer ${token}` } };
}

/** The upstream behind the test gateway: any token passes, with every scope and role. */
const trustAnyToken: TokenVerifier = {
  verify: () => ({
    claims: {},
    subject: undefined,
    scopes: new Set(["orders:read", "orders:write"]),
    roles: new Set(["admin", "operator"]),
    expiresAtMs: Date.now() + 60_000,
  }),
};

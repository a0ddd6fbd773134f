/**
 * The server side of the client benchmark, run in its own process so the client's CPU time is
 * the client's alone. It serves EchoService twice: on a raw grpc-js server (which echoes the
 * request bytes undecoded — EchoRequest and EchoResponse share a wire form — so the server costs
 * as little as a gRPC server can), and on connect-node over HTTP/1.1 for the Connect-protocol
 * JSON client. Prints `{"grpcPort":…,"connectPort":…}` on one line, then serves until stdin
 * closes or SIGTERM.
 */
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Server, ServerCredentials, type ServiceDefinition } from "@grpc/grpc-js";
import { EchoService } from "../gen/protomesh/bench/v1/echo_pb.js";

const same = (bytes: Buffer): Buffer => bytes;
const echoDefinition: ServiceDefinition = {
  Echo: {
    path: `/${EchoService.typeName}/${EchoService.method.echo.name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: same,
    requestDeserialize: same,
    responseSerialize: same,
    responseDeserialize: same,
  },
};

const grpcServer = new Server();
grpcServer.addService(echoDefinition, {
  Echo: (call: { request: Buffer }, callback: (error: null, value: Buffer) => void) =>
    callback(null, call.request),
});
const grpcPort = await new Promise<number>((resolve, reject) =>
  grpcServer.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) =>
    error ? reject(error) : resolve(port),
  ),
);

const connectServer = createHttpServer(
  connectNodeAdapter({
    routes: (router) =>
      router.service(EchoService, { echo: (request) => ({ payload: request.payload }) }),
  }),
);
await new Promise<void>((resolve) => connectServer.listen(0, "127.0.0.1", resolve));
const connectPort = (connectServer.address() as AddressInfo).port;

process.stdout.write(`${JSON.stringify({ grpcPort, connectPort })}\n`);

function stop(): void {
  grpcServer.forceShutdown();
  connectServer.closeAllConnections();
  connectServer.close();
  process.exit(0);
}
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);

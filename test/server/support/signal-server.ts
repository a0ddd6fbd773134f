// A protomesh server in its own process, closed by SIGTERM (handleSignals): used by
// graceful-shutdown.test.ts. Prints its URL, then "closed" once close() resolved.
import { createServer } from "../../../src/index.js";
import { echoService } from "./echo-service.js";

const server = createServer({ services: [echoService()], logger: false, handleSignals: true });
const { url } = await server.listen();
process.stdout.write(`${url}\n`);
process.once("SIGTERM", () => {
  // Runs after the server's own handler (registered first): wait for its drain to finish.
  void server.close().then(() => process.stdout.write("closed\n"));
});

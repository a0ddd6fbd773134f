import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";

export interface WebPage {
  readonly url: string;
  /** Where the page sends its calls; set once the gateway listens. */
  gatewayUrl: string;
  close(): Promise<void>;
}

/**
 * Serves the demo page (web/app.ts bundled by esbuild once, at start) from its own origin, so
 * that a browser reaches the gateway cross-origin, as a real front end would.
 */
export async function startWebPage(options: { host: string; port: number }): Promise<WebPage> {
  const bundle = await build({
    entryPoints: [new URL("./web/app.ts", import.meta.url).pathname],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]?.contents ?? new Uint8Array();
  const page: WebPage = {
    url: "",
    gatewayUrl: "",
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((request, response) => {
    if (request.url === "/app.js") {
      response.writeHead(200, { "content-type": "text/javascript" });
      response.end(script);
      return;
    }
    if (request.url === "/" || request.url === "/index.html") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end(html(page.gatewayUrl));
      return;
    }
    response.writeHead(404);
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(page, { url: `http://${options.host}:${port}` });
}

function html(gatewayUrl: string): string {
  const attr = gatewayUrl.replace(/[&"<>]/g, "");
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>protomesh order demo</title></head>
<body data-gateway="${attr}">
<h1>Order demo through the protomesh gateway</h1>
<button id="go">Create an order and watch it</button>
<p id="connect"></p><p id="grpc-web"></p><p id="rest"></p><p id="watch"></p><p id="done"></p><p id="error"></p>
<script type="module" src="/app.js"></script>
</body>
</html>`;
}

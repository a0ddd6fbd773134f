import { create, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { createServer, type Server, type ServerAddress } from "../../../src/server/index.js";
import { loadTestRegistry } from "./load-test-registry.js";

/** What the upstream saw: calls per method and the request headers of each call. */
export interface UpstreamLog {
  readonly calls: Map<string, number>;
  readonly headers: Headers[];
  /** Streams whose caller went away (their signal aborted). */
  cancelled: number;
}

export interface LibraryUpstream {
  readonly service: DescService;
  readonly address: ServerAddress;
  readonly server: Server;
  readonly log: UpstreamLog;
  message(name: string): DescMessage;
}

// biome-ignore lint/suspicious/noExplicitAny: generic messages from a registry, by field name
type Any = any;

/** A real protomesh server for protomesh.resttest.v1.LibraryService that echoes what it got. */
export async function startLibraryUpstream(): Promise<LibraryUpstream> {
  const registry = loadTestRegistry();
  const service = registry.getService("protomesh.resttest.v1.LibraryService") as DescService;
  const message = (name: string) =>
    registry.getMessage(`protomesh.resttest.v1.${name}`) as DescMessage;
  const log: UpstreamLog = { calls: new Map(), headers: [], cancelled: 0 };
  const seen = (name: string, ctx: HandlerContext) => {
    log.calls.set(name, (log.calls.get(name) ?? 0) + 1);
    log.headers.push(ctx.requestHeader);
  };
  const impl: Record<string, (req: Any, ctx: HandlerContext) => unknown> = {
    getBook(req, ctx) {
      seen("getBook", ctx);
      return create(message("Book"), { name: req.name, title: "T", pageCount: 12n });
    },
    createBook(req, ctx) {
      seen("createBook", ctx);
      return create(message("Book"), {
        ...req.book,
        name: `shelves/${req.shelf?.id}/books/${req.requestId}`,
      });
    },
    updateBook(req, ctx) {
      seen("updateBook", ctx);
      return create(message("Book"), {
        title: `${req.book?.title}|${(req.updateMask?.paths ?? []).join(",")}`,
        name: req.bookId,
      });
    },
    deleteBook(_req, ctx) {
      seen("deleteBook", ctx);
      return {};
    },
    search(req, ctx) {
      seen("search", ctx);
      return create(message("SearchResponse"), { echo: req });
    },
    cancelOperation(req, ctx) {
      seen("cancelOperation", ctx);
      return create(message("Operation"), { name: `${req.name}|${req.reason}`, done: true });
    },
    getFile(req, ctx) {
      seen("getFile", ctx);
      return create(message("GetFileResponse"), {
        content: { path: req.path, size: 42n },
        etag: "not-sent",
      });
    },
    describe(req, ctx) {
      seen("describe", ctx);
      return create(message("DescribeResponse"), { text: `about ${req.topic}` });
    },
    secret(req, ctx) {
      seen("secret", ctx);
      return create(message("DescribeResponse"), { text: `secret ${req.topic}` });
    },
    async *listBooks(req, ctx) {
      seen("listBooks", ctx);
      ctx.signal.addEventListener("abort", () => log.cancelled++);
      for (let i = 0; i < req.count; i++) {
        if (req.failAfter > 0 && i === req.failAfter) {
          throw new ConnectError("shelf collapsed", Code.DataLoss);
        }
        yield create(message("Book"), { name: `${req.shelf}/${i}` });
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    fail(req, ctx) {
      seen("fail", ctx);
      throw new ConnectError(`failed with ${req.code}`, req.code as Code, undefined, [
        { desc: message("DescribeResponse"), value: { text: "a detail" } },
      ]);
    },
  };
  const server = createServer({ services: [{ service, impl: impl as Any }], logger: false });
  const address = await server.listen();
  return { service, address, server, log, message };
}

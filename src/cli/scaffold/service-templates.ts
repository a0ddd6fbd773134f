import type { ServiceName } from "./service-name.js";

/** The files `protomesh new service` writes, relative to the repository root. */
export function serviceFiles(name: ServiceName): Record<string, string> {
  return {
    [`proto/${name.directory}/${name.fileBase}.proto`]: serviceProto(name),
    [`src/${name.kebab}.ts`]: handlerStub(name),
    [`test/${name.kebab}.test.ts`]: testStub(name),
  };
}

/**
 * A contract that passes buf lint STANDARD plus the comment rules: every element commented,
 * one Request and one Response message per RPC, the read marked NO_SIDE_EFFECTS and the write
 * IDEMPOTENT (protomesh retries only those).
 */
export function serviceProto(name: ServiceName): string {
  const { noun } = name;
  return `syntax = "proto3";

package ${name.packageName};

// ${name.service} manages ${noun} records. Say here what it is for and who calls it.
service ${name.service} {
  // Get${noun} returns one ${noun} by id. A read: safe to retry and to hedge.
  rpc Get${noun}(Get${noun}Request) returns (Get${noun}Response) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  // Put${noun} creates or replaces a ${noun}. Repeating it changes nothing more: safe to retry.
  rpc Put${noun}(Put${noun}Request) returns (Put${noun}Response) {
    option idempotency_level = IDEMPOTENT;
  }
}

// ${noun} is the record ${name.service} manages.
message ${noun} {
  // The id callers use to find it.
  string id = 1;
  // A name for people to read.
  string display_name = 2;
}

// Get${noun}Request names the ${noun} to return.
message Get${noun}Request {
  // The ${noun}'s id.
  string id = 1;
}

// Get${noun}Response carries the ${noun} found.
message Get${noun}Response {
  // The ${noun}.
  ${noun} ${snakeNoun(noun)} = 1;
}

// Put${noun}Request carries the ${noun} to store.
message Put${noun}Request {
  // The ${noun}, replacing any with the same id.
  ${noun} ${snakeNoun(noun)} = 1;
}

// Put${noun}Response carries the ${noun} as stored.
message Put${noun}Response {
  // The ${noun} as stored.
  ${noun} ${snakeNoun(noun)} = 1;
}
`;
}

function snakeNoun(noun: string): string {
  return noun.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

function genImport(name: ServiceName): string {
  return `../gen/${name.directory}/${name.fileBase}_pb.js`;
}

function handlerStub(name: ServiceName): string {
  const { noun } = name;
  const field = lowerCamel(snakeNoun(noun));
  return `import { Code, ConnectError } from "@connectrpc/connect";
import { defineService } from "protomesh";
import { ${name.service} } from "${genImport(name)}";

/**
 * ${name.packageName}.${name.service}: replace the in-memory map with your storage. Serve it
 * with createServer({ services: [${name.camel}] }) from protomesh.
 */
const store = new Map<string, { id: string; displayName: string }>();

export const ${name.camel} = defineService(${name.service}, {
  async get${noun}(request) {
    const found = store.get(request.id);
    if (!found) throw new ConnectError(\`no ${noun} \${request.id}\`, Code.NotFound);
    return { ${field}: found };
  },
  async put${noun}(request) {
    const ${field} = request.${field};
    if (!${field} || ${field}.id === "") {
      throw new ConnectError("${field}.id is required", Code.InvalidArgument);
    }
    const stored = { id: ${field}.id, displayName: ${field}.displayName };
    store.set(stored.id, stored);
    return { ${field}: stored };
  },
});
`;
}

function testStub(name: ServiceName): string {
  const { noun } = name;
  const field = lowerCamel(snakeNoun(noun));
  return `import assert from "node:assert/strict";
import { after, test } from "node:test";
import { createClient, createServer } from "protomesh";
import { ${name.service} } from "${genImport(name)}";
import { ${name.camel} } from "../src/${name.kebab}.js";

// Run it with npx tsx --test test/${name.kebab}.test.ts (node:test, a real server on 127.0.0.1).
const server = createServer({ services: [${name.camel}], logger: false });
const address = await server.listen({ host: "127.0.0.1", port: 0 });
after(() => server.close());

test("${name.service} stores a ${noun} and returns it", async () => {
  const client = createClient(${name.service}, { baseUrl: address.url });
  await client.put${noun}({ ${field}: { id: "1", displayName: "first" } });
  const response = await client.get${noun}({ id: "1" });
  assert.equal(response.${field}?.displayName, "first");
});
`;
}

function lowerCamel(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

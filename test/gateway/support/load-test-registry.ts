import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileRegistry, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

let cached: FileRegistry | undefined;

/**
 * The gateway's test contracts (test/fixtures/gateway), built by buf into descriptors at test
 * time, beside a copy of proto/google/api: the gateway and the route compiler only ever read
 * descriptors, so nothing is generated for them.
 */
export function loadTestRegistry(): FileRegistry {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), "protomesh-resttest-"));
  try {
    cpSync("test/fixtures/gateway/protomesh", join(dir, "protomesh"), { recursive: true });
    cpSync("proto/google/api", join(dir, "google/api"), { recursive: true });
    cpSync("proto/protomesh/options", join(dir, "protomesh/options"), { recursive: true });
    writeFileSync(join(dir, "buf.yaml"), "version: v2\n");
    const out = join(dir, "image.binpb");
    execFileSync(join(process.cwd(), "node_modules/.bin/buf"), ["build", "-o", out], {
      cwd: dir,
      stdio: ["ignore", "ignore", "inherit"],
    });
    cached = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(out)));
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

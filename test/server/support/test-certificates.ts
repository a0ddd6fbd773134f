import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A throw-away CA, a server certificate for 127.0.0.1 and a client certificate, in PEM. */
export interface TestCertificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/**
 * Made with the openssl CLI at test time, in a temporary directory: these keys are never
 * committed. One private key is committed on purpose, elsewhere: test/fixtures/tls/server.key,
 * the interop server's (`npm run interop:server -- --use_tls`), because standard interop
 * clients must be told one fixed CA to trust (gRPC's own repositories commit their interop test
 * keys for the same reason). It is harmless: its certificate chains only to
 * test/fixtures/tls/ca.pem, a CA nothing trusts unless told to, whose signing key was deleted
 * when it was made (generate.sh), so no further certificate can be issued under it; and the key
 * is public, so it must never serve anything but tests (test/fixtures/tls-fixtures.test.ts holds
 * the tree to that).
 */
export function createTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "protomesh-certs-"));
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
  );
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const who of ["server", "client"]) {
    ssl("req", ...ec, "-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=${who}`);
    ssl(
      "x509",
      "-req",
      "-in",
      `${who}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${who}.pem`,
      "-days",
      "1",
      ...(who === "server" ? ["-extfile", "server.ext"] : []),
    );
  }
  return readAll(dir);
}

function readAll(dir: string): TestCertificates {
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  try {
    return {
      ca: read("ca.pem"),
      serverCert: read("server.pem"),
      serverKey: read("server.key"),
      clientCert: read("client.pem"),
      clientKey: read("client.key"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A certificate and its key, in PEM. */
export interface Pem {
  readonly cert: string;
  readonly key: string;
}

/** A throw-away CA that issues certificates with the subject alt names a test asks for. */
export interface TestCa {
  readonly cert: string;
  /** `altNames` as openssl writes them, e.g. "URI:spiffe://mesh.test/order,DNS:order". */
  issue(commonName: string, altNames?: string): Pem;
  close(): void;
}

/** Made with the openssl CLI at test time, so no private key is ever committed. */
export function createTestCa(name = "test-ca"): TestCa {
  const dir = mkdtempSync(join(tmpdir(), "protomesh-mesh-ca-"));
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
    `/CN=${name}`,
  );
  let serial = 0;
  return {
    cert: readFileSync(join(dir, "ca.pem"), "utf8"),
    issue(commonName, altNames) {
      serial++;
      const base = `leaf${serial}`;
      ssl(
        "req",
        ...ec,
        "-keyout",
        `${base}.key`,
        "-out",
        `${base}.csr`,
        "-subj",
        `/CN=${commonName}`,
      );
      const ext = altNames ? ["-extfile", `${base}.ext`] : [];
      if (altNames) writeFileSync(join(dir, `${base}.ext`), `subjectAltName=${altNames}\n`);
      ssl(
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        String(serial + 1000),
        "-out",
        `${base}.pem`,
        "-days",
        "1",
        ...ext,
      );
      return {
        cert: readFileSync(join(dir, `${base}.pem`), "utf8"),
        key: readFileSync(join(dir, `${base}.key`), "utf8"),
      };
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A server certificate for 127.0.0.1. */
export function serverCertificate(ca: TestCa): Pem {
  return ca.issue("server", "IP:127.0.0.1,DNS:localhost");
}

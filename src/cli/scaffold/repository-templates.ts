import type { ServiceName } from "./service-name.js";
import { serviceProto } from "./service-templates.js";

/**
 * The files `protomesh init` writes, relative to the new repository's root. The released
 * contracts baseline (contracts/released.binpb) is recorded by buf afterwards, not templated.
 */
export function repositoryFiles(example: ServiceName): Record<string, string> {
  return {
    "buf.yaml": bufYaml,
    "buf.gen.yaml": bufGenYaml,
    [`proto/${example.directory}/${example.fileBase}.proto`]: serviceProto(example),
    "scripts/ci.sh": ciScript,
    "README.md": readme(example),
  };
}

const bufYaml = `# buf module v2: every contract lives under proto/, one versioned package per directory.
version: v2
modules:
  - path: proto
lint:
  use:
    - STANDARD
    # Contracts are read by other teams: every service, RPC, message and enum says what it is for.
    - COMMENT_SERVICE
    - COMMENT_RPC
    - COMMENT_MESSAGE
    - COMMENT_ENUM
breaking:
  # FILE, the strictest set: generated code is imported per file, and field names are on the
  # wire in JSON, so moving a type or renaming a field breaks consumers. To break on purpose,
  # publish a new major package (e.g. acme.order.v2) beside v1.
  use:
    - FILE
  # v1alpha1 / v1beta1 packages carry no promise and may change freely.
  ignore_unstable_packages: true
`;

const bufGenYaml = `# Local plugins only (found in node_modules/.bin): no Buf Schema Registry, no network.
version: v2
clean: true
plugins:
  # Messages and service descriptors as JavaScript plus .d.ts, so plain Node imports them and
  # TypeScript type-checks against them.
  - local: protoc-gen-es
    out: gen
    include_imports: false
    opt:
      - target=js+dts
      - import_extension=js
  # Per file with services: typed client factories, each method's resolved call policy and
  # typed fakes for tests; per package with HTTP rules on PUBLIC methods, an OpenAPI 3.1
  # document in gen/openapi/. It fails on a contract error (file.proto:line:col: message).
  - local: protoc-gen-protomesh
    out: gen
    include_imports: false
    strategy: all
    opt:
      - target=js+dts
      - import_extension=js
      - openapi=openapi
`;

const ciScript = `#!/bin/sh
# CI for the contracts: lint, no breaking change against the released contracts, and generated
# code that matches proto/. Run it from the repository root.
set -eu
npx protomesh lint
npx protomesh breaking
npx protomesh check-gen
`;

function readme(example: ServiceName): string {
  return `# Contracts

Versioned gRPC contracts in \`proto/<org>/<domain>/v<N>/\`, checked and generated with
[protomesh](https://www.npmjs.com/package/protomesh) (install it with
\`npm install --save-dev protomesh @bufbuild/buf @bufbuild/protoc-gen-es\`).

| command | what it does |
| --- | --- |
| \`npx protomesh new service ${example.packageName}.NameService\` | add a contract, a handler stub and a test stub |
| \`npx protomesh lint\` | buf lint: STANDARD plus comments on everything |
| \`npx protomesh generate\` | generate \`gen/\` (never edit it by hand; commit it with \`proto/\`) |
| \`npx protomesh breaking\` | fail on a change that breaks a consumer of the released contracts |
| \`npx protomesh release\` | record \`proto/\` as released (\`contracts/released.binpb\`) |
| \`npx protomesh check-gen\` | fail if \`gen/\` is stale |

\`scripts/ci.sh\` runs lint, breaking and check-gen. Mark reads \`NO_SIDE_EFFECTS\` and
safe-to-repeat writes \`IDEMPOTENT\`: protomesh clients retry only those. To make a breaking
change, add a \`v2\` package beside \`v1\`.
`;
}

import { create, fromBinary, type JsonValue, type Registry, toJson } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";

/**
 * An error as the JSON form of `google.rpc.Status` (`code`, `message`, `details`), the body
 * grpc-gateway and Envoy send REST callers. Each detail is an `Any` in JSON: its fields
 * beside `@type` when `registry` knows the type, else `{"@type", "value": base64}`.
 */
export function statusJson(error: ConnectError, registry: Registry | undefined): JsonValue {
  const details: JsonValue[] = [];
  for (const d of error.details) {
    const typeName = "desc" in d ? d.desc.typeName : d.type;
    const url = `type.googleapis.com/${typeName}`;
    const desc = "desc" in d ? d.desc : registry?.getMessage(typeName);
    try {
      if ("desc" in d) {
        details.push({ "@type": url, ...(toJson(d.desc, create(d.desc, d.value)) as object) });
        continue;
      }
      if (desc) {
        const json = toJson(desc, fromBinary(desc, d.value), registry ? { registry } : {});
        details.push(
          json !== null && typeof json === "object" && !Array.isArray(json)
            ? { "@type": url, ...json }
            : { "@type": url, value: json },
        );
        continue;
      }
    } catch {
      // A detail that does not decode is still passed on, as bytes.
    }
    if (!("desc" in d))
      details.push({ "@type": url, value: Buffer.from(d.value).toString("base64") });
  }
  return { code: error.code, message: error.rawMessage, details };
}

import {
  type DescEnum,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  ScalarType,
} from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";

/**
 * A descriptor written back in .proto syntax, with fully qualified type names. Written by hand:
 * protobuf-es reads descriptors but prints none as .proto text.
 */
export function describeDescriptor(
  desc: DescService | DescMethod | DescMessage | DescEnum,
): string {
  switch (desc.kind) {
    case "service":
      return `service ${desc.typeName} {\n${desc.methods.map((m) => `  ${rpcLine(m)}\n`).join("")}}\n`;
    case "rpc":
      return `// in service ${desc.parent.typeName}\n${rpcLine(desc)}\n`;
    case "message":
      return describeMessage(desc);
    case "enum":
      return `enum ${desc.typeName} {\n${desc.values.map((v) => `  ${v.name} = ${v.number};\n`).join("")}}\n`;
  }
}

function rpcLine(method: DescMethod): string {
  const inStream =
    method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
  const outStream =
    method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
  const signature = `rpc ${method.name}(${inStream ? "stream " : ""}${method.input.typeName}) returns (${outStream ? "stream " : ""}${method.output.typeName})`;
  const level = method.idempotency;
  if (level === MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN) return `${signature};`;
  return `${signature} { option idempotency_level = ${MethodOptions_IdempotencyLevel[level]}; }`;
}

function describeMessage(message: DescMessage): string {
  const lines: string[] = [];
  const oneofsDone = new Set<string>();
  for (const field of message.fields) {
    if (field.oneof) {
      if (oneofsDone.has(field.oneof.name)) continue;
      oneofsDone.add(field.oneof.name);
      lines.push(`  oneof ${field.oneof.name} {`);
      for (const member of field.oneof.fields) lines.push(`    ${fieldLine(member)}`);
      lines.push("  }");
      continue;
    }
    lines.push(`  ${fieldLine(field)}`);
  }
  return `message ${message.typeName} {\n${lines.map((l) => `${l}\n`).join("")}}\n`;
}

function fieldLine(field: DescField): string {
  return `${fieldType(field)} ${field.name} = ${field.number};`;
}

function fieldType(field: DescField): string {
  switch (field.fieldKind) {
    case "scalar":
      return `${field.proto.proto3Optional ? "optional " : ""}${scalarName(field.scalar)}`;
    case "enum":
      return `${field.proto.proto3Optional ? "optional " : ""}${field.enum.typeName}`;
    case "message":
      return field.message.typeName;
    case "list":
      return `repeated ${elementName(field)}`;
    case "map":
      return `map<${scalarName(field.mapKey)}, ${elementName(field)}>`;
  }
}

function elementName(field: DescField & { fieldKind: "list" | "map" }): string {
  if (field.scalar !== undefined) return scalarName(field.scalar);
  if (field.message) return field.message.typeName;
  return field.enum?.typeName ?? "?";
}

function scalarName(scalar: ScalarType): string {
  return ScalarType[scalar].toLowerCase();
}

import type { DescField, DescMessage } from "@bufbuild/protobuf";

/**
 * Resolves a dotted field path (`a.b.c`) against a message: every name but the last must be a
 * singular message field. `jsonNames` also accepts each field's lowerCamel JSON name, as
 * query parameters do. Returns the fields along the path, or a reason it does not resolve.
 */
export function resolveFieldPath(
  message: DescMessage,
  names: readonly string[],
  jsonNames: boolean,
): readonly DescField[] | string {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const [i, name] of names.entries()) {
    if (current === undefined) {
      return `${names.slice(0, i).join(".")} is not a message field`;
    }
    const field = fieldByName(current, name, jsonNames);
    if (field === undefined) return `${current.typeName} has no field "${name}"`;
    fields.push(field);
    current = field.fieldKind === "message" ? field.message : undefined;
  }
  return fields;
}

function fieldByName(
  message: DescMessage,
  name: string,
  jsonNames: boolean,
): DescField | undefined {
  for (const field of message.fields) {
    if (field.name === name || (jsonNames && field.jsonName === name)) return field;
  }
  return undefined;
}

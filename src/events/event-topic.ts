import { type DescMessage, getOption, hasOption } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { event } from "../../gen/protomesh/options/v1/options_pb.js";

// getOption decodes the option from the descriptor's bytes on every call (a few µs, a tenth of
// a publish in the profile): a schema's topic never changes, so it is read once per schema.
const topics = new WeakMap<DescMessage, string>();

/**
 * The topic of an event message, from its `(protomesh.options.v1.event).topic` option: the
 * routing key it is published under and subscribers bind to. A message without the option is
 * not an event, and publishing or subscribing to it is refused (InvalidArgument) rather than
 * guessed from its name, so a topic is always a reviewed part of the contract.
 */
export function eventTopic(schema: DescMessage): string {
  const cached = topics.get(schema);
  if (cached !== undefined) return cached;
  const topic = hasOption(schema, event) ? getOption(schema, event).topic : "";
  if (topic === "") {
    throw new ConnectError(
      `${schema.typeName} is not an event: it has no (protomesh.options.v1.event).topic option`,
      Code.InvalidArgument,
    );
  }
  topics.set(schema, topic);
  return topic;
}

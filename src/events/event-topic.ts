import { type DescMessage, getOption, hasOption } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { event } from "../../gen/protomesh/options/v1/options_pb.js";

/**
 * The topic of an event message, from its `(protomesh.options.v1.event).topic` option: the
 * routing key it is published under and subscribers bind to. A message without the option is
 * not an event, and publishing or subscribing to it is refused (InvalidArgument) rather than
 * guessed from its name, so a topic is always a reviewed part of the contract.
 */
export function eventTopic(schema: DescMessage): string {
  const topic = hasOption(schema, event) ? getOption(schema, event).topic : "";
  if (topic === "") {
    throw new ConnectError(
      `${schema.typeName} is not an event: it has no (protomesh.options.v1.event).topic option`,
      Code.InvalidArgument,
    );
  }
  return topic;
}

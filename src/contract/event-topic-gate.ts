import { getExtension, hasExtension } from "@bufbuild/protobuf";
import type { DescriptorProto, FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { event } from "../../gen/protomesh/options/v1/options_pb.js";

/** One event whose topic differs between two versions of the contracts. */
export interface TopicChange {
  /** The event message's full name. */
  readonly event: string;
  readonly before: string;
  /** Empty when the option was removed. */
  readonly after: string;
}

// v1alpha1 / v1beta1 carry no promise, as buf's ignore_unstable_packages says.
const unstablePackage = /\.v\d+(alpha|beta)\d*$/;

/**
 * The events of `released` whose `(protomesh.options.v1.event).topic` differs in `current`. buf
 * does not read custom options, yet a new topic silently cuts off every subscriber bound to the
 * old one, so `protomesh breaking` treats it as breaking. A removed event is buf's to report.
 */
export function findTopicChanges(
  released: FileDescriptorSet,
  current: FileDescriptorSet,
): TopicChange[] {
  const now = topics(current);
  const changes: TopicChange[] = [];
  for (const [name, before] of topics(released)) {
    const after = now.get(name);
    // Not an event before, or removed altogether (buf reports a removed message).
    if (before === "" || after === undefined) continue;
    if (after !== before) changes.push({ event: name, before, after });
  }
  return changes;
}

/** Words for the breaking report. */
export function describeTopicChange(c: TopicChange): string {
  return c.after === ""
    ? `the event topic option ${JSON.stringify(c.before)} was removed`
    : `event topic changed from ${JSON.stringify(c.before)} to ${JSON.stringify(c.after)}`;
}

/** Every message's full name → its topic, "" for a message that is not an event. */
function topics(set: FileDescriptorSet): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of set.file) {
    if (unstablePackage.test(file.package)) continue;
    const visit = (message: DescriptorProto, prefix: string) => {
      const name = `${prefix}.${message.name}`;
      const options = message.options;
      found.set(
        name,
        options && hasExtension(options, event) ? getExtension(options, event).topic : "",
      );
      for (const nested of message.nestedType) visit(nested, name);
    };
    for (const message of file.messageType) visit(message, file.package);
  }
  return found;
}

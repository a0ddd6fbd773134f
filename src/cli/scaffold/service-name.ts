import { usageError } from "../cli-error.js";

/** A service's full name split the ways the templates need it. */
export interface ServiceName {
  /** `acme.order.v1` */
  readonly packageName: string;
  /** `acme/order/v1`: where its .proto lives under proto/ and its code under gen/. */
  readonly directory: string;
  /** `OrderService` */
  readonly service: string;
  /** `Order`: the name without `Service`, used for RPC and message names. */
  readonly noun: string;
  /** `order_service`: the .proto file's base name (buf's FILE_LOWER_SNAKE_CASE). */
  readonly fileBase: string;
  /** `order-service`: the handler and test file names. */
  readonly kebab: string;
  /** `orderService`: the handler's exported name. */
  readonly camel: string;
}

const pattern =
  /^([a-z][a-z0-9]*)\.([a-z][a-z0-9_]*)\.(v[1-9][0-9]*(?:(?:alpha|beta)[1-9][0-9]*)?)\.([A-Z][A-Za-z0-9]*)Service$/;

/**
 * Parses `<org>.<domain>.v<N>.<Name>Service`, the only shape buf's STANDARD rules accept for a
 * versioned package (PACKAGE_VERSION_SUFFIX, SERVICE_SUFFIX), or fails with a usage error.
 */
export function parseServiceName(verb: string, text: string): ServiceName {
  const match = pattern.exec(text);
  if (!match) {
    throw usageError(
      verb,
      `"${text}" is not <org>.<domain>.v<N>.<Name>Service (lowercase org and domain, e.g. acme.order.v1.OrderService)`,
    );
  }
  const [, org = "", domain = "", version = "", noun = ""] = match;
  const words = noun
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(" ");
  const snake = [...words, "service"].join("_");
  return {
    packageName: `${org}.${domain}.${version}`,
    directory: `${org}/${domain}/${version}`,
    service: `${noun}Service`,
    noun,
    fileBase: snake,
    kebab: snake.replaceAll("_", "-"),
    camel: `${noun.charAt(0).toLowerCase()}${noun.slice(1)}Service`,
  };
}

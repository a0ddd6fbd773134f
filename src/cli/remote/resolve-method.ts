import type { DescMethod, DescService, FileRegistry } from "@bufbuild/protobuf";
import { CliError, usageError } from "../cli-error.js";

/** `package.Service/Method` (as buf curl writes it) or `package.Service.Method` (grpcurl). */
export function splitMethodName(verb: string, text: string): { service: string; method: string } {
  const slash = text.lastIndexOf("/");
  const cut = slash >= 0 ? slash : text.lastIndexOf(".");
  const service = text.slice(0, cut).replace(/^\//, "");
  const method = text.slice(cut + 1);
  if (cut <= 0 || service === "" || method === "" || !service.includes(".")) {
    throw usageError(verb, `"${text}" is not <package.Service>/<Method>`);
  }
  return { service, method };
}

/** Finds a service in the registry, or says how to list the server's services. */
export function findService(registry: FileRegistry, name: string, url: string): DescService {
  const service = registry.getService(name);
  if (!service) {
    throw new CliError(`${url} has no service ${name}; protomesh list ${url} shows its services`);
  }
  return service;
}

/** Finds a method, or names the ones the service has. */
export function findMethod(service: DescService, name: string): DescMethod {
  const method = service.methods.find((m) => m.name === name);
  if (!method) {
    const names = service.methods.map((m) => m.name).join(", ");
    throw new CliError(`${service.typeName} has no method ${name}; it has: ${names}`);
  }
  return method;
}

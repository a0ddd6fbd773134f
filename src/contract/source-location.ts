import type { DescFile, DescMethod, DescService } from "@bufbuild/protobuf";

/** Where something is written in a `.proto` file: 1-based, as protoc and buf report it. */
export interface SourceLocation {
  /** The file's name as the compiler knows it, e.g. `acme/order/v1/order_service.proto`. */
  readonly file: string;
  /** 1-based line; 0 when the descriptors carry no source info (e.g. a released image). */
  readonly line: number;
  /** 1-based column; 0 when unknown. */
  readonly column: number;
}

// Field numbers in descriptor.proto, the steps of a source-info path.
const fileService = 6;
const serviceMethod = 2;
const serviceOptions = 3;
const methodOptions = 4;

/** The source-info path of a service (`FileDescriptorProto.service[i]`). */
export function servicePath(service: DescService): number[] {
  return [fileService, service.file.proto.service.indexOf(service.proto)];
}

/** The source-info path of a method (`… ServiceDescriptorProto.method[i]`). */
export function methodPath(method: DescMethod): number[] {
  return [...servicePath(method.parent), serviceMethod, method.parent.methods.indexOf(method)];
}

/** The path of an option on a method: the extension's number, then fields inside its value. */
export function methodOptionPath(method: DescMethod, ...optionPath: number[]): number[] {
  return [...methodPath(method), methodOptions, ...optionPath];
}

/** The path of an option on a service: the extension's number, then fields inside its value. */
export function serviceOptionPath(service: DescService, ...optionPath: number[]): number[] {
  return [...servicePath(service), serviceOptions, ...optionPath];
}

/**
 * True when the source says this exact path was written, e.g. `retry: {max_attempts: 0}`:
 * proto3 puts no zero on the wire, so only source info tells a written zero from an unset
 * field. False without source info.
 */
export function isWritten(file: DescFile, path: readonly number[]): boolean {
  return findSpan(file, path) !== undefined;
}

/** True when the source has `path` itself or anything written inside it. */
export function hasSource(file: DescFile, path: readonly number[]): boolean {
  return findSpan(file, path) !== undefined || firstInside(file, path) !== undefined;
}

/**
 * Where `path` is written: its own location; else, for a message or list written as a
 * literal (buf records only the scalars inside it), the first thing written inside it; else
 * the same for its closest ancestor (the option, then the method). Line and column are 0
 * when the file carries no source info.
 */
export function sourceLocation(file: DescFile, path: readonly number[]): SourceLocation {
  for (let length = path.length; length >= 0; length--) {
    const prefix = path.slice(0, length);
    const span = findSpan(file, prefix) ?? firstInside(file, prefix);
    if (span)
      return { file: file.proto.name, line: (span[0] ?? 0) + 1, column: (span[1] ?? 0) + 1 };
  }
  return { file: file.proto.name, line: 0, column: 0 };
}

/** `file.proto:line:col`, or `file.proto` when line is unknown: protoc's own shape. */
export function formatLocation(location: SourceLocation): string {
  return location.line > 0 ? `${location.file}:${location.line}:${location.column}` : location.file;
}

interface SpanIndex {
  /** The span of each path written. */
  readonly own: Map<string, readonly number[]>;
  /** For each path, the earliest span of anything written below it. */
  readonly inside: Map<string, readonly number[]>;
}

/** Spans by path, per file, built on first use: a module of thousands of methods asks often. */
const spansByFile = new WeakMap<DescFile, SpanIndex>();

function indexOf(file: DescFile): SpanIndex {
  let index = spansByFile.get(file);
  if (!index) {
    index = { own: new Map(), inside: new Map() };
    for (const location of file.proto.sourceCodeInfo?.location ?? []) {
      const { path, span } = location;
      const key = path.join(".");
      // The first location of a path is the declaration itself; later ones are its parts.
      if (!index.own.has(key)) index.own.set(key, span);
      for (let length = path.length - 1; length > 0; length--) {
        const prefix = path.slice(0, length).join(".");
        const known = index.inside.get(prefix);
        if (!known || before(span, known)) index.inside.set(prefix, span);
      }
    }
    spansByFile.set(file, index);
  }
  return index;
}

function before(a: readonly number[], b: readonly number[]): boolean {
  const [al = 0, ac = 0] = a;
  const [bl = 0, bc = 0] = b;
  return al < bl || (al === bl && ac < bc);
}

function findSpan(file: DescFile, path: readonly number[]): readonly number[] | undefined {
  return indexOf(file).own.get(path.join("."));
}

function firstInside(file: DescFile, path: readonly number[]): readonly number[] | undefined {
  return indexOf(file).inside.get(path.join("."));
}

/**
 * A `google.api.http` path template, parsed. The grammar (google/api/http.proto):
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * Hand-written: no TypeScript library parses these templates (vanguard-go and grpc-gateway
 * are Go). A `{field}` is `{field=*}`; `**` may only be the last segment.
 */
export interface PathTemplate {
  /** The template as written, e.g. `/v1/{name=shelves/*}/books/*:cancel`. */
  readonly source: string;
  /** Every segment, variables flattened into the segments they capture. */
  readonly segments: readonly PathSegment[];
  /** The custom verb after the last `:`, e.g. `cancel`; undefined when none. */
  readonly verb: string | undefined;
  /** The variables, in order, with the segments each captures. */
  readonly variables: readonly PathVariable[];
}

/** A literal segment, `*` (exactly one segment) or `**` (the rest of the path, maybe empty). */
export type PathSegment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "wildcard" }
  | { readonly kind: "deep" };

export interface PathVariable {
  /** The field path, e.g. `["shelf", "name"]` for `{shelf.name}`. */
  readonly fieldPath: readonly string[];
  /** Index of the first segment it captures. */
  readonly start: number;
  /** Index after the last segment it captures (the segment count when it ends in `**`). */
  readonly end: number;
  /**
   * True when it can capture more than one segment (it has more than one segment or a `**`):
   * such a value keeps `%2F` encoded, as the spec says; a single-segment one decodes all.
   */
  readonly multiSegment: boolean;
}

/** Thrown for a template that does not follow the grammar; the message says where. */
export class PathTemplateError extends Error {
  override readonly name = "PathTemplateError";
}

// RFC 3986 pchar minus "/", ":" (which starts a verb) and the template's own "{}=*".
const literalChar = /[A-Za-z0-9\-._~%!$&'()+,;@]/;
const identStart = /[A-Za-z_]/;
const identChar = /[A-Za-z0-9_]/;

/** Parses a path template; throws `PathTemplateError` naming the position of the fault. */
export function parsePathTemplate(source: string): PathTemplate {
  return new Parser(source).parse();
}

class Parser {
  private pos = 0;
  private readonly segments: PathSegment[] = [];
  private readonly variables: PathVariable[] = [];

  constructor(private readonly src: string) {}

  parse(): PathTemplate {
    if (this.src[0] !== "/") this.fail("must start with /");
    this.pos = 1;
    this.parseSegments(false);
    let verb: string | undefined;
    if (this.src[this.pos] === ":") {
      this.pos++;
      verb = this.literal();
    }
    if (this.pos !== this.src.length) this.fail(`unexpected "${this.src[this.pos]}"`);
    const deep = this.segments.findIndex((s) => s.kind === "deep");
    if (deep !== -1 && deep !== this.segments.length - 1) this.fail("** must be the last segment");
    const seen = new Set<string>();
    for (const v of this.variables) {
      const key = v.fieldPath.join(".");
      if (seen.has(key)) this.fail(`variable {${key}} appears twice`);
      seen.add(key);
    }
    return { source: this.src, segments: this.segments, verb, variables: this.variables };
  }

  private parseSegments(inVariable: boolean): void {
    for (;;) {
      this.segment(inVariable);
      if (this.src[this.pos] !== "/") return;
      this.pos++;
    }
  }

  private segment(inVariable: boolean): void {
    const c = this.src[this.pos];
    if (c === "*") {
      if (this.src[this.pos + 1] === "*") {
        this.pos += 2;
        this.segments.push({ kind: "deep" });
      } else {
        this.pos++;
        this.segments.push({ kind: "wildcard" });
      }
    } else if (c === "{") {
      if (inVariable) this.fail("variables cannot nest");
      this.variable();
    } else {
      this.segments.push({ kind: "literal", value: this.literal() });
    }
  }

  private variable(): void {
    this.pos++; // "{"
    const fieldPath = [this.ident()];
    while (this.src[this.pos] === ".") {
      this.pos++;
      fieldPath.push(this.ident());
    }
    const start = this.segments.length;
    if (this.src[this.pos] === "=") {
      this.pos++;
      this.parseSegments(true);
    } else {
      this.segments.push({ kind: "wildcard" });
    }
    if (this.src[this.pos] !== "}") this.fail('expected "}"');
    this.pos++;
    const end = this.segments.length;
    const multiSegment = end - start > 1 || this.segments[end - 1]?.kind === "deep";
    this.variables.push({ fieldPath, start, end, multiSegment });
  }

  private ident(): string {
    const from = this.pos;
    if (!identStart.test(this.src[this.pos] ?? "")) this.fail("expected a field name");
    while (identChar.test(this.src[this.pos] ?? "")) this.pos++;
    return this.src.slice(from, this.pos);
  }

  private literal(): string {
    const from = this.pos;
    while (literalChar.test(this.src[this.pos] ?? "")) this.pos++;
    if (this.pos === from) {
      const c = this.src[this.pos];
      this.fail(c === undefined ? "unexpected end" : `unexpected "${c}"`);
    }
    return this.src.slice(from, this.pos);
  }

  private fail(why: string): never {
    throw new PathTemplateError(`path template "${this.src}": ${why} at position ${this.pos}`);
  }
}

import type { HttpRoute } from "../../contract/http-rule/index.js";

/**
 * A route found for a request, with the raw path segments its variables are cut from. It is
 * also the lookup's "found" answer (one object per call, not a wrapper around it).
 */
export interface RouteMatch {
  readonly kind: "found";
  readonly route: HttpRoute;
  readonly segments: readonly string[];
}

/** What `match` found: a route, a known path on another verb (405 + Allow), or nothing (404). */
export type RouteLookup =
  | RouteMatch
  | { readonly kind: "wrong-verb"; readonly allow: readonly string[] }
  | { readonly kind: "none" };

interface Node {
  readonly literals: Map<string, Node>;
  wildcard: Node | undefined;
  deep: Node | undefined;
  /** Custom verb ("" for none) → HTTP method → route. */
  readonly leaves: Map<string, Map<string, HttpRoute>>;
}

const none: RouteLookup = { kind: "none" };

/**
 * The REST routes in one trie of path segments, built once at start-up: a request walks it
 * segment by segment (a literal before `*` before `**`, backtracking), so matching costs
 * the path's length whatever the number of routes. Hand-written: no library matches
 * `google.api.http` templates with custom verbs.
 */
export class RouteTable {
  private readonly root: Node = newNode();

  constructor(routes: readonly HttpRoute[]) {
    for (const route of routes) {
      let node = this.root;
      for (const s of route.template.segments) {
        if (s.kind === "literal") {
          let next = node.literals.get(s.value);
          if (!next) {
            next = newNode();
            node.literals.set(s.value, next);
          }
          node = next;
        } else if (s.kind === "wildcard") {
          node.wildcard ??= newNode();
          node = node.wildcard;
        } else {
          node.deep ??= newNode();
          node = node.deep;
        }
      }
      const verb = route.template.verb ?? "";
      let byMethod = node.leaves.get(verb);
      if (!byMethod) {
        byMethod = new Map();
        node.leaves.set(verb, byMethod);
      }
      byMethod.set(route.httpMethod, route);
    }
  }

  /** Finds the route for a verb and a path (no query string, still percent-encoded). */
  match(httpMethod: string, path: string): RouteLookup {
    if (path.charCodeAt(0) !== 47 /* / */) return none;
    const segments = path.slice(1).split("/");
    const last = segments[segments.length - 1] ?? "";
    const colon = last.lastIndexOf(":");
    let wrongVerb: Map<string, HttpRoute> | undefined;
    if (colon > 0) {
      // A custom verb, e.g. "operations/op1:cancel"; else ":" is part of the segment.
      const withVerb = segments.slice();
      withVerb[withVerb.length - 1] = last.slice(0, colon);
      const found = this.search(this.root, withVerb, 0, last.slice(colon + 1), httpMethod);
      if (found instanceof Map) wrongVerb = found;
      else if (found) return { kind: "found", route: found, segments: withVerb };
    }
    const found = this.search(this.root, segments, 0, "", httpMethod);
    if (found instanceof Map) wrongVerb ??= found;
    else if (found) return { kind: "found", route: found, segments };
    return wrongVerb ? { kind: "wrong-verb", allow: [...wrongVerb.keys()] } : none;
  }

  /** The route, or the leaf of a path known on other verbs only, or undefined. */
  private search(
    node: Node,
    segments: readonly string[],
    i: number,
    verb: string,
    httpMethod: string,
  ): HttpRoute | Map<string, HttpRoute> | undefined {
    let other: Map<string, HttpRoute> | undefined;
    if (i === segments.length) {
      const leaf = node.leaves.get(verb) ?? node.deep?.leaves.get(verb);
      return leaf?.get(httpMethod) ?? leaf;
    }
    const segment = segments[i] as string;
    const literal = node.literals.get(segment);
    if (literal) {
      const found = this.search(literal, segments, i + 1, verb, httpMethod);
      if (found && !(found instanceof Map)) return found;
      other = found;
    }
    if (node.wildcard && segment !== "") {
      const found = this.search(node.wildcard, segments, i + 1, verb, httpMethod);
      if (found && !(found instanceof Map)) return found;
      other ??= found;
    }
    if (node.deep) {
      const leaf = node.deep.leaves.get(verb);
      const found = leaf?.get(httpMethod);
      if (found) return found;
      other ??= leaf;
    }
    return other;
  }
}

function newNode(): Node {
  return { literals: new Map(), wildcard: undefined, deep: undefined, leaves: new Map() };
}

/**
 * Evaluating constraint filters against properties. A `Constraints` is parsed once and can be
 * evaluated many times; `explain` says which part failed and why.
 *
 * Semantics: a missing key makes a comparison false (so `(!(k=v))` is true for it); a list
 * matches if any element matches; numbers compare numerically (`(k=1.0)` matches `1`), and a
 * string that reads as a number compares numerically with `< <= > >=`; booleans match `true` /
 * `false`; wildcards match strings only.
 */
import {
  formatConstraint,
  parseConstraint,
  toNumber,
  type CompareOp,
  type ConstraintNode,
} from "./constraint-parser.js";
import { propertyValues, type Properties, type PropertyScalar } from "./properties.js";

/** Evaluate an AST against a property map. */
export function evaluateConstraint(node: ConstraintNode, props: Properties): boolean {
  switch (node.kind) {
    case "and":
      return node.children.every((c) => evaluateConstraint(c, props));
    case "or":
      return node.children.some((c) => evaluateConstraint(c, props));
    case "not":
      return !evaluateConstraint(node.child, props);
    case "present":
      return propertyValues(props, node.key).length > 0;
    case "compare":
      return propertyValues(props, node.key).some((v) => compare(v, node.op, node.value, node.number));
    case "wildcard":
      return propertyValues(props, node.key).some(
        (v) => typeof v === "string" && wildcardMatch(v, node.parts),
      );
  }
}

/**
 * Why `node` is false for `props`, or `undefined` when it is true. Names the innermost failing
 * comparison and the value found, e.g. `(agora.inf.mem.gib>=4) is false: agora.inf.mem.gib is 2`.
 */
export function explainConstraint(node: ConstraintNode, props: Properties): string | undefined {
  if (evaluateConstraint(node, props)) return undefined;
  switch (node.kind) {
    case "and": {
      const failed = node.children.find((c) => !evaluateConstraint(c, props));
      return failed ? explainConstraint(failed, props) : undefined;
    }
    case "or":
      return node.children.length === 0
        ? "(|) is always false"
        : `none of ${formatConstraint(node)} holds: ${node.children.map((c) => explainConstraint(c, props)).join("; ")}`;
    case "not":
      return `${formatConstraint(node)} is false because ${formatConstraint(node.child)} holds`;
    case "present":
    case "compare":
    case "wildcard": {
      if (!Object.hasOwn(props, node.key))
        return `${formatConstraint(node)} is false: ${node.key} is missing`;
      return `${formatConstraint(node)} is false: ${node.key} is ${JSON.stringify(props[node.key])}`;
    }
  }
}

function compare(v: PropertyScalar, op: CompareOp, text: string, number: number | undefined): boolean {
  if (op === "=") {
    if (typeof v === "number") return number !== undefined && v === number;
    if (typeof v === "boolean") return text === String(v);
    return v === text;
  }
  const left = typeof v === "number" ? v : typeof v === "string" ? toNumber(v) : undefined;
  if (left === undefined || number === undefined) return false;
  switch (op) {
    case "<":
      return left < number;
    case "<=":
      return left <= number;
    case ">":
      return left > number;
    case ">=":
      return left >= number;
  }
}

/** Anchored glob match: `parts` are the literal pieces between the stars. No regex, no backtracking blow-up. */
function wildcardMatch(s: string, parts: readonly string[]): boolean {
  const first = parts[0] ?? "";
  const last = parts[parts.length - 1] ?? "";
  if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
  let pos = first.length;
  const end = s.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i]!;
    const at = s.indexOf(part, pos);
    if (at < 0 || at + part.length > end) return false;
    pos = at + part.length;
  }
  return true;
}

/** A parsed filter, ready to evaluate. */
export class Constraints {
  /** The filter as given. */
  readonly text: string;
  readonly ast: ConstraintNode;

  private constructor(text: string, ast: ConstraintNode) {
    this.text = text;
    this.ast = ast;
  }

  /** @throws ConstraintParseError pointing at the first problem. */
  static parse(text: string): Constraints {
    return new Constraints(text, parseConstraint(text));
  }

  /** A filter that every property map satisfies: `(&)`. */
  static none(): Constraints {
    return new Constraints("(&)", { kind: "and", children: [] });
  }

  /** All the given filters at once: `(&a b …)` (one filter is returned as it is). */
  static all(filters: readonly (Constraints | string)[]): Constraints {
    const parsed = filters.map((f) => (typeof f === "string" ? Constraints.parse(f) : f));
    if (parsed.length === 1) return parsed[0]!;
    const children = parsed.flatMap((c) => (c.ast.kind === "and" ? c.ast.children : [c.ast]));
    const ast: ConstraintNode = { kind: "and", children };
    return new Constraints(formatConstraint(ast), ast);
  }

  matches(props: Properties): boolean {
    return evaluateConstraint(this.ast, props);
  }

  /** Why `props` fail this filter, or `undefined` when they satisfy it. */
  explain(props: Properties): string | undefined {
    return explainConstraint(this.ast, props);
  }

  toString(): string {
    return this.text;
  }
}

/**
 * The constraint filter language (DESIGN §5): LDAP-style filters such as
 * `(&(agora.inf.mem.gib>=0.5)(agora.runtime.name=docker))`.
 *
 * ```text
 * filter  = "(" ( "&" filter* | "|" filter* | "!" filter | item ) ")"
 * item    = key op value
 * key     = dotted words of [A-Za-z0-9_-]
 * op      = "=" | "<=" | ">=" | "<" | ">"
 * value   = any characters but unescaped "(" ")"; "\" escapes the next character;
 *           with "=", an unescaped "*" is a wildcard and a lone "*" tests presence
 * ```
 *
 * Whitespace is allowed between tokens; a value is trimmed (escape a space to keep it).
 * `(&)` is always true and `(|)` always false (RFC 4526). Ordering operators need a number.
 */
import { ConstraintParseError } from "./errors.js";

export type CompareOp = "=" | "<=" | ">=" | "<" | ">";

export type ConstraintNode =
  | { readonly kind: "and"; readonly children: readonly ConstraintNode[] }
  | { readonly kind: "or"; readonly children: readonly ConstraintNode[] }
  | { readonly kind: "not"; readonly child: ConstraintNode }
  /** `(key=*)`: the key is present. */
  | { readonly kind: "present"; readonly key: string }
  /** `(key op value)`; `number` is the value read as a number, when it is one. */
  | {
      readonly kind: "compare";
      readonly key: string;
      readonly op: CompareOp;
      readonly value: string;
      readonly number: number | undefined;
    }
  /** `(key=a*b*c)`: `parts` are the literal pieces between the stars (`["a", "b", "c"]`). */
  | { readonly kind: "wildcard"; readonly key: string; readonly parts: readonly string[] };

/** The longest filter accepted (the protocol's limit for a spec's constraints). */
export const MAX_CONSTRAINT_LENGTH = 16 * 1024;
/** The deepest nesting of `& | !` accepted. */
export const MAX_CONSTRAINT_DEPTH = 32;

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const KEY_CHAR = /[A-Za-z0-9_.-]/;

/** The value read as a finite number, or `undefined`. */
export function toNumber(text: string): number | undefined {
  if (!NUMBER_RE.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Parse a filter into its AST.
 * @throws ConstraintParseError pointing at the first problem.
 */
export function parseConstraint(input: string): ConstraintNode {
  if (input.length > MAX_CONSTRAINT_LENGTH) {
    throw new ConstraintParseError(
      input.slice(0, 80),
      80,
      `filter is ${input.length} characters long (at most ${MAX_CONSTRAINT_LENGTH})`,
    );
  }
  const p = new Parser(input);
  p.skipWs();
  if (p.atEnd()) p.fail("empty filter: expected '('");
  const node = p.filter(0);
  p.skipWs();
  if (!p.atEnd()) p.fail(`unexpected ${p.show()} after the end of the filter`);
  return node;
}

class Parser {
  pos = 0;
  constructor(readonly input: string) {}

  atEnd(): boolean {
    return this.pos >= this.input.length;
  }

  peek(): string | undefined {
    return this.input[this.pos];
  }

  show(): string {
    const c = this.peek();
    return c === undefined ? "end of input" : `'${c}'`;
  }

  fail(detail: string, at: number = this.pos): never {
    throw new ConstraintParseError(this.input, at, detail);
  }

  skipWs(): void {
    while (this.pos < this.input.length && /\s/.test(this.input[this.pos]!)) this.pos++;
  }

  expect(c: string): void {
    this.skipWs();
    if (this.peek() !== c) this.fail(`expected '${c}' but found ${this.show()}`);
    this.pos++;
  }

  filter(depth: number): ConstraintNode {
    if (depth > MAX_CONSTRAINT_DEPTH) this.fail(`filter nested deeper than ${MAX_CONSTRAINT_DEPTH} levels`);
    this.expect("(");
    this.skipWs();
    let node: ConstraintNode;
    switch (this.peek()) {
      case "&":
      case "|": {
        const kind = this.peek() === "&" ? "and" : "or";
        this.pos++;
        const children: ConstraintNode[] = [];
        for (this.skipWs(); this.peek() === "("; this.skipWs()) children.push(this.filter(depth + 1));
        node = { kind, children };
        break;
      }
      case "!":
        this.pos++;
        node = { kind: "not", child: this.filter(depth + 1) };
        break;
      default:
        node = this.item();
    }
    this.expect(")");
    return node;
  }

  item(): ConstraintNode {
    const keyStart = this.pos;
    while (!this.atEnd() && KEY_CHAR.test(this.peek()!)) this.pos++;
    const key = this.input.slice(keyStart, this.pos);
    if (key === "") this.fail(`expected '&', '|', '!' or a property key but found ${this.show()}`);
    if (key.startsWith(".") || key.endsWith(".") || key.includes("..")) {
      this.fail(`invalid property key '${key}'`, keyStart);
    }
    this.skipWs();
    const op = this.op();
    if (op === undefined) {
      const c = this.peek();
      if (c === "~") this.fail("unsupported operator '~=' (use =, <=, >=, < or >)");
      this.fail(`expected an operator (=, <=, >=, <, >) after '${key}' but found ${this.show()}`);
    }
    this.skipWs();
    const valueStart = this.pos;
    const { parts, raw } = this.value();
    const text = parts.join("*");
    if (op === "=") {
      if (raw === "*") return { kind: "present", key };
      if (parts.length > 1) return { kind: "wildcard", key, parts };
      return { kind: "compare", key, op, value: text, number: toNumber(text) };
    }
    if (parts.length > 1) this.fail(`wildcards are only allowed with '=', not '${op}'`, valueStart);
    const number = toNumber(text);
    if (number === undefined) {
      this.fail(
        `expected a number after '${op}' but found ${text === "" ? "nothing" : `'${text}'`}`,
        valueStart,
      );
    }
    return { kind: "compare", key, op, value: text, number };
  }

  op(): CompareOp | undefined {
    const two = this.input.slice(this.pos, this.pos + 2);
    if (two === "<=" || two === ">=") {
      this.pos += 2;
      return two;
    }
    const one = this.peek();
    if (one === "=" || one === "<" || one === ">") {
      this.pos++;
      return one;
    }
    return undefined;
  }

  /** Read a value up to the closing ')': its literal pieces between unescaped stars. */
  value(): { parts: string[]; raw: string } {
    const start = this.pos;
    const chars: { c: string; escaped: boolean }[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail("expected ')' but found end of input");
      if (c === ")") break;
      if (c === "(") this.fail("unexpected '(' in a value (escape it as '\\(')");
      this.pos++;
      if (c === "\\") {
        const next = this.peek();
        if (next === undefined) this.fail("a '\\' at the end of the input escapes nothing");
        chars.push({ c: next, escaped: true });
        this.pos++;
      } else {
        chars.push({ c, escaped: false });
      }
    }
    const blank = (x: { c: string; escaped: boolean } | undefined) =>
      x !== undefined && !x.escaped && /\s/.test(x.c);
    while (blank(chars[0])) chars.shift();
    while (blank(chars[chars.length - 1])) chars.pop();
    const parts = [""];
    for (const { c, escaped } of chars) {
      if (c === "*" && !escaped) parts.push("");
      else parts[parts.length - 1] += c;
    }
    return { parts, raw: this.input.slice(start, this.pos).trim() };
  }
}

/** Escape a literal for use as a filter value. */
export function escapeConstraintValue(value: string): string {
  return value.replace(/[\\()*]/g, (c) => `\\${c}`).replace(/^\s|\s$/g, (c) => `\\${c}`);
}

/** Print an AST back as filter text (canonical: no extra whitespace). */
export function formatConstraint(node: ConstraintNode): string {
  switch (node.kind) {
    case "and":
      return `(&${node.children.map(formatConstraint).join("")})`;
    case "or":
      return `(|${node.children.map(formatConstraint).join("")})`;
    case "not":
      return `(!${formatConstraint(node.child)})`;
    case "present":
      return `(${node.key}=*)`;
    case "compare":
      return `(${node.key}${node.op}${escapeConstraintValue(node.value)})`;
    case "wildcard":
      return `(${node.key}=${node.parts.map((p) => p.replace(/[\\()*]/g, (c) => `\\${c}`)).join("*")})`;
  }
}

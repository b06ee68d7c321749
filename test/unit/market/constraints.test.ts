import { describe, expect, it } from "vitest";
import { MarketError } from "../../../src/errors.js";
import { Constraints } from "../../../src/market/constraints.js";
import { ConstraintParseError } from "../../../src/market/errors.js";
import type { Properties } from "../../../src/market/properties.js";

const offer: Properties = {
  "agora.inf.cpu.threads": 4,
  "agora.inf.mem.gib": 7.5,
  "agora.inf.storage.gib": 40,
  "agora.runtime.name": "docker",
  "agora.node.id.name": "volunteer-berlin-01",
  "agora.node.subnet": "devnet",
  "agora.com.pricing.model": "linear",
  "agora.com.usage.vector": ["agora.usage.duration_sec", "agora.usage.cpu_sec"],
  "agora.com.pricing.model.linear.coeffs": [0.0001, 0.0005, 0.01],
  "agora.srv.comp.expiration": "1700000000000",
  "agora.inf.gpu": false,
  "agora.tags": ["render", "ci"],
  "agora.empty": "",
  "agora.odd": "a(b)*c",
};

const table: [filter: string, expected: boolean][] = [
  // numbers
  ["(agora.inf.mem.gib>=0.5)", true],
  ["(agora.inf.mem.gib>=7.5)", true],
  ["(agora.inf.mem.gib>7.5)", false],
  ["(agora.inf.mem.gib<=7.5)", true],
  ["(agora.inf.mem.gib<8)", true],
  ["(agora.inf.cpu.threads=4)", true],
  ["(agora.inf.cpu.threads=4.0)", true],
  ["(agora.inf.cpu.threads=04)", true],
  ["(agora.inf.cpu.threads=5)", false],
  ["(agora.inf.cpu.threads=four)", false],
  ["(agora.inf.storage.gib>=1e1)", true],
  ["(agora.inf.storage.gib>-1)", true],
  ["(agora.srv.comp.expiration>1600000000000)", true], // numeric string compares numerically
  ["(agora.runtime.name>1)", false], // non-numeric string never orders
  // strings
  ["(agora.runtime.name=docker)", true],
  ["(agora.runtime.name=Docker)", false],
  ["(agora.runtime.name= docker )", true],
  ["(agora.empty=)", true],
  ["(agora.odd=a\\(b\\)\\*c)", true],
  // booleans
  ["(agora.inf.gpu=false)", true],
  ["(agora.inf.gpu=true)", false],
  ["(agora.inf.gpu>=0)", false],
  // lists: any element
  ["(agora.tags=ci)", true],
  ["(agora.tags=gpu)", false],
  ["(agora.com.usage.vector=agora.usage.cpu_sec)", true],
  ["(agora.com.pricing.model.linear.coeffs<=0.0001)", true],
  ["(agora.com.pricing.model.linear.coeffs>1)", false],
  ["(agora.tags=r*)", true],
  // missing keys
  ["(agora.inf.tpu>=1)", false],
  ["(agora.inf.tpu=*)", false],
  ["(!(agora.inf.tpu=*))", true],
  ["(agora.inf.tpu=x*)", false],
  // presence and wildcards
  ["(agora.node.id.name=*)", true],
  ["(agora.node.id.name=volunteer-*)", true],
  ["(agora.node.id.name=*-01)", true],
  ["(agora.node.id.name=*berlin*)", true],
  ["(agora.node.id.name=v*r*n*1)", true],
  ["(agora.node.id.name=*paris*)", false],
  ["(agora.node.id.name=volunteer-berlin-01*)", true],
  ["(agora.node.id.name=*01*01)", false],
  ["(agora.inf.cpu.threads=4*)", false], // wildcards match strings only
  ["(agora.odd=a\\(b\\)\\**)", true],
  // nested & | !
  ["(&(agora.inf.mem.gib>=0.5)(agora.runtime.name=docker))", true],
  ["(&(agora.inf.mem.gib>=0.5)(agora.runtime.name=vm))", false],
  ["(|(agora.runtime.name=vm)(agora.runtime.name=docker))", true],
  ["(|(agora.runtime.name=vm)(agora.runtime.name=wasm))", false],
  ["(!(agora.runtime.name=vm))", true],
  ["(!(&(agora.inf.cpu.threads>=2)(agora.node.subnet=devnet)))", false],
  [
    "(&(|(agora.node.subnet=public)(agora.node.subnet=devnet))(!(agora.inf.gpu=true))(agora.inf.storage.gib>=2))",
    true,
  ],
  ["( & ( agora.inf.cpu.threads >= 2 ) ( agora.node.subnet = devnet ) )", true],
  ["(&)", true],
  ["(|)", false],
  ["(!(|))", true],
];

describe("constraint evaluation table", () => {
  it("has at least 40 cases", () => {
    expect(table.length).toBeGreaterThanOrEqual(40);
  });

  it.each(table)("%s → %s", (filter, expected) => {
    expect(Constraints.parse(filter).matches(offer)).toBe(expected);
  });
});

const malformed: [filter: string, position: number, detail: string][] = [
  ["", 0, "empty filter: expected '('"],
  ["agora.inf.mem.gib>=1", 0, "expected '(' but found 'a'"],
  ["(agora.inf.mem.gib>=1", 21, "expected ')' but found end of input"],
  ["(&(a=1)(b>=2)x", 13, "expected ')' but found 'x'"],
  ["(a=1))", 5, "unexpected ')' after the end of the filter"],
  ["(a>=x)", 4, "expected a number after '>=' but found 'x'"],
  ["(a<)", 3, "expected a number after '<' but found nothing"],
  ["(a>=1*)", 4, "wildcards are only allowed with '=', not '>='"],
  ["(a~=1)", 2, "unsupported operator '~=' (use =, <=, >=, < or >)"],
  ["(a 1)", 3, "expected an operator (=, <=, >=, <, >) after 'a' but found '1'"],
  ["(=1)", 1, "expected '&', '|', '!' or a property key but found '='"],
  ["()", 1, "expected '&', '|', '!' or a property key but found ')'"],
  ["(a=(b)", 3, "unexpected '(' in a value (escape it as '\\(')"],
  ["(a=b\\", 5, "a '\\' at the end of the input escapes nothing"],
  ["(!)", 2, "expected '(' but found ')'"],
  ["(!(a=1)(b=2))", 7, "expected ')' but found '('"],
  ["(a..b=1)", 1, "invalid property key 'a..b'"],
  ["(&(a=1)", 7, "expected ')' but found end of input"],
];

describe("malformed constraints", () => {
  it.each(malformed)("%j fails at %i: %s", (filter, position, detail) => {
    let caught: unknown;
    try {
      Constraints.parse(filter);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConstraintParseError);
    expect(caught).toBeInstanceOf(MarketError);
    const err = caught as ConstraintParseError;
    expect(err.position).toBe(position);
    expect(err.detail).toBe(detail);
    expect(err.message.split("\n")[0]).toBe(`constraint parse error at ${position}: ${detail}`);
  });

  it("shows the input with a caret under the bad position", () => {
    expect(() => Constraints.parse("(&(a=1)(b>=2)x")).toThrow(
      "constraint parse error at 13: expected ')' but found 'x'\n  (&(a=1)(b>=2)x\n               ^",
    );
  });

  it("refuses filters nested too deep or too long, without overflowing the stack", () => {
    const deep = "(!".repeat(100) + "(a=1)" + ")".repeat(100);
    expect(() => Constraints.parse(deep)).toThrow("filter nested deeper than 32 levels");
    expect(() => Constraints.parse(`(a=${"x".repeat(20_000)})`)).toThrow(/at most 16384/);
  });
});

describe("Constraints", () => {
  it("explains which comparison failed and what was found", () => {
    const c = Constraints.parse("(&(agora.runtime.name=docker)(agora.inf.mem.gib>=16))");
    expect(c.explain(offer)).toBe("(agora.inf.mem.gib>=16) is false: agora.inf.mem.gib is 7.5");
    expect(Constraints.parse("(agora.inf.tpu>=1)").explain(offer)).toBe(
      "(agora.inf.tpu>=1) is false: agora.inf.tpu is missing",
    );
    expect(Constraints.parse("(!(agora.runtime.name=docker))").explain(offer)).toBe(
      "(!(agora.runtime.name=docker)) is false because (agora.runtime.name=docker) holds",
    );
    expect(Constraints.parse("(|(agora.inf.gpu=true)(agora.tags=gpu))").explain(offer)).toBe(
      'none of (|(agora.inf.gpu=true)(agora.tags=gpu)) holds: (agora.inf.gpu=true) is false: agora.inf.gpu is false; (agora.tags=gpu) is false: agora.tags is ["render","ci"]',
    );
    expect(c.explain({ ...offer, "agora.inf.mem.gib": 16 })).toBeUndefined();
  });

  it("combines filters with all(), flattening nested ands", () => {
    const c = Constraints.all(["(a=1)", Constraints.parse("(&(b>=2)(c=x*))")]);
    expect(c.text).toBe("(&(a=1)(b>=2)(c=x*))");
    expect(c.matches({ a: 1, b: 3, c: "xy" })).toBe(true);
    expect(c.matches({ a: 1, b: 1, c: "xy" })).toBe(false);
    expect(Constraints.none().matches({})).toBe(true);
    expect(Constraints.all([]).text).toBe("(&)");
  });

  it("does not read inherited keys of the property object", () => {
    expect(Constraints.parse("(toString=*)").matches({})).toBe(false);
    expect(Constraints.parse("(constructor=*)").matches({})).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import {
  escapeConstraintValue,
  formatConstraint,
  parseConstraint,
  toNumber,
} from "../../../src/market/constraint-parser.js";

describe("parseConstraint", () => {
  it("builds the AST once, with numbers pre-read", () => {
    expect(parseConstraint("(&(agora.inf.mem.gib>=0.5)(agora.runtime.name=docker))")).toEqual({
      kind: "and",
      children: [
        { kind: "compare", key: "agora.inf.mem.gib", op: ">=", value: "0.5", number: 0.5 },
        { kind: "compare", key: "agora.runtime.name", op: "=", value: "docker", number: undefined },
      ],
    });
  });

  it("distinguishes presence, wildcards and an escaped star", () => {
    expect(parseConstraint("(a=*)")).toEqual({ kind: "present", key: "a" });
    expect(parseConstraint("(a=x*y*)")).toEqual({ kind: "wildcard", key: "a", parts: ["x", "y", ""] });
    expect(parseConstraint("(a=\\*)")).toEqual({
      kind: "compare",
      key: "a",
      op: "=",
      value: "*",
      number: undefined,
    });
  });

  it("keeps escaped spaces at the ends of a value", () => {
    expect(parseConstraint("(a=\\ x\\ )")).toMatchObject({ value: " x " });
  });

  it.each([
    "(&(agora.inf.mem.gib>=0.5)(agora.runtime.name=docker))",
    "(|(a=1)(!(b<=2))(c=*)(d=x*y))",
    "(a=\\(weird\\)\\*name\\\\)",
    "(&)",
  ])("formats %s back to the same text", (text) => {
    expect(formatConstraint(parseConstraint(text))).toBe(text);
  });

  it("escapes values so any string round-trips", () => {
    for (const v of ["a(b)", "*", "back\\slash", " padded "]) {
      const node = parseConstraint(`(k=${escapeConstraintValue(v)})`);
      expect(node).toMatchObject({ kind: "compare", value: v });
    }
  });
});

describe("toNumber", () => {
  it.each([
    ["1", 1],
    ["-2.5", -2.5],
    [".5", 0.5],
    ["1e3", 1000],
    ["0x10", undefined],
    ["", undefined],
    ["1e999", undefined],
    ["Infinity", undefined],
  ])("%j → %s", (text, n) => {
    expect(toNumber(text)).toBe(n);
  });
});

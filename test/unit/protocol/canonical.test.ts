import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../../src/errors.js";
import { canonicalBytes, canonicalJson } from "../../../src/protocol/index.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth, drops undefined members, writes no whitespace", () => {
    const value = { b: 1, a: { d: [3, { z: true, y: null }], c: "x" }, u: undefined };
    expect(canonicalJson(value)).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
    expect(canonicalJson({ a: { c: "x", d: [3, { y: null, z: true }] }, b: 1 })).toBe(canonicalJson(value));
  });

  it("orders keys by UTF-16 code units and escapes strings as JSON does", () => {
    expect(canonicalJson({ é: 1, Z: 2, a: 3, "\u20ac": 4 })).toBe('{"Z":2,"a":3,"é":1,"€":4}');
    expect(canonicalJson('a"b\n')).toBe('"a\\"b\\n"');
    expect(canonicalJson([undefined, 1e21, -0.5])).toBe("[null,1e+21,-0.5]");
  });

  it("refuses values JSON cannot carry faithfully", () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(ProtocolError);
    expect(() => canonicalJson(Infinity)).toThrow("cannot encode non-finite number Infinity");
    expect(() => canonicalJson({ f: () => 1 })).toThrow("cannot encode a value of type function");
    expect(() => canonicalJson(1n)).toThrow(ProtocolError);
  });

  it("encodes as UTF-8", () => {
    expect([...canonicalBytes({ k: "é" })]).toEqual([...Buffer.from('{"k":"é"}', "utf8")]);
  });
});

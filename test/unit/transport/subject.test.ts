import { describe, expect, it } from "vitest";
import {
  InvalidSubjectError,
  assertPublishSubject,
  assertSubscribeSubject,
  subjectMatches,
} from "../../../src/transport/index.js";

describe("subjects", () => {
  it.each([
    ["a.b.c", "a.b.c", true],
    ["a.*.c", "a.b.c", true],
    ["a.*.c", "a.b.d", false],
    ["a.*", "a.b.c", false],
    ["a.>", "a.b", true],
    ["a.>", "a.b.c.d", true],
    ["a.>", "a", false],
    ["*.>", "a", false],
    ["*.>", "a.b", true],
    [">", "a", true],
    ["*", "a", true],
    ["*", "a.b", false],
    ["a.b", "a.b.c", false],
    ["a.b.c", "a.b", false],
    ["agora.node.*.stream", "agora.node.XYZ.stream", true],
  ])("%s matches %s: %s", (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });

  it("refuses bad subjects with the reason", () => {
    expect(() => assertPublishSubject("")).toThrow('invalid subject "": empty');
    expect(() => assertPublishSubject("a b")).toThrow("contains whitespace");
    expect(() => assertPublishSubject("a.")).toThrow("empty token");
    expect(() => assertPublishSubject("a.>")).toThrow("wildcards are only for subscriptions");
    expect(() => assertSubscribeSubject(">.a")).toThrow("`>` must be the last token");
    expect(() => assertSubscribeSubject("a.*.>")).not.toThrow();
    expect(() => assertSubscribeSubject("a.b*")).not.toThrow(); // `*` inside a token is a literal, as in NATS
    expect(() => assertPublishSubject(".")).toThrow(InvalidSubjectError);
  });
});

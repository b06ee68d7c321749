import { describe, expect, it } from "vitest";
import { AgoraError, MarketError } from "../../../src/errors.js";
import { ConstraintParseError } from "../../../src/market/errors.js";

describe("ConstraintParseError", () => {
  it("is a MarketError carrying the position and a caret line", () => {
    const err = new ConstraintParseError("(a>=x)", 4, "expected a number after '>=' but found 'x'");
    expect(err).toBeInstanceOf(MarketError);
    expect(err).toBeInstanceOf(AgoraError);
    expect(err.name).toBe("ConstraintParseError");
    expect(err.code).toBe("MARKET_ERROR");
    expect(err.message).toBe(
      "constraint parse error at 4: expected a number after '>=' but found 'x'\n  (a>=x)\n      ^",
    );
  });

  it("shows a window of a long input, with ellipses", () => {
    const input = `(&${"(a=1)".repeat(30)}x)`;
    const err = new ConstraintParseError(input, 152, "expected ')' but found 'x'");
    const [, snippet, caret] = err.message.split("\n");
    expect(snippet).toBe(`  …${input.slice(112, 154)}`);
    expect(caret!.indexOf("^")).toBe(snippet!.indexOf("x)"));
  });
});

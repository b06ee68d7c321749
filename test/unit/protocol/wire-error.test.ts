import { describe, expect, it } from "vitest";
import { BudgetExceededError, MarketError, ProviderError, TimeoutError } from "../../../src/errors.js";
import { fromWireError, toWireError } from "../../../src/protocol/index.js";

describe("wire errors", () => {
  it("carry an Agora error's code and message, and rebuild its class", () => {
    const body = toWireError(new BudgetExceededError("budget of 1.0 spent"));
    expect(body).toEqual({ code: "BUDGET_EXCEEDED", message: "budget of 1.0 spent" });
    const err = fromWireError(body, "ABCDEFGHIJK");
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect(err.message).toBe("ABCDEFGH… answered BUDGET_EXCEEDED: budget of 1.0 spent");
    expect(fromWireError(toWireError(new MarketError("x")), "n")).toBeInstanceOf(MarketError);
    expect(fromWireError(toWireError(new TimeoutError("x")), "n")).toBeInstanceOf(TimeoutError);
  });

  it("do not leak other errors' messages; unknown codes become ProviderError", () => {
    expect(toWireError(new Error("/etc/secret not found"))).toEqual({
      code: "INTERNAL",
      message: "internal error",
    });
    expect(fromWireError({ code: "INTERNAL", message: "internal error" }, "n")).toBeInstanceOf(ProviderError);
  });
});

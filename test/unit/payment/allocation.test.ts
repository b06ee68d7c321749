import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { BudgetExceededError, PaymentError } from "../../../src/errors.js";
import { Allocation } from "../../../src/payment/allocation.js";
import { formatAmount } from "../../../src/payment/money.js";
import { expectError } from "./expect-error.js";

const amounts = (a: Allocation) => {
  const s = a.snapshot();
  return {
    total: formatAmount(s.total),
    reserved: formatAmount(s.reserved),
    spent: formatAmount(s.spent),
    remaining: formatAmount(s.remaining),
  };
};

describe("Allocation", () => {
  it("reserves, commits and releases", () => {
    const a = new Allocation("10");
    const r = a.reserve("4", { owner: "agreement a1" });
    expect(amounts(a)).toEqual({ total: "10", reserved: "4", spent: "0", remaining: "6" });
    r.commit("1.25");
    expect(formatAmount(r.held)).toBe("2.75");
    expect(formatAmount(r.spent)).toBe("1.25");
    r.release();
    r.release(); // twice is fine
    expect(amounts(a)).toEqual({ total: "10", reserved: "0", spent: "1.25", remaining: "8.75" });
    expectError(() => r.commit("0.01"), PaymentError, "agreement a1: reservation already released");
  });

  it("can reserve exactly the whole budget, and not a cent more", () => {
    const a = new Allocation("1.5");
    const r = a.reserve("1.5");
    expect(formatAmount(a.remaining)).toBe("0");
    const err = expectError(
      () => a.reserve("0.000001", { owner: "agreement a2", agreementId: "a2" }),
      BudgetExceededError,
      "budget exceeded: reserving 0.000001 for agreement a2 needs 0.000001, only 0 of 1.5 remains",
    );
    expect(err.agreementId).toBe("a2");
    expect(err.code).toBe("BUDGET_EXCEEDED");
    r.commit("1.5");
    expect(amounts(a)).toEqual({ total: "1.5", reserved: "0", spent: "1.5", remaining: "0" });
  });

  it("commits beyond the hold from the free budget, refusing (unchanged) past the total", () => {
    const a = new Allocation("3");
    const r = a.reserve("1", { owner: "agreement a1", agreementId: "a1", providerId: "p1" });
    r.commit("2.5"); // 1 from the hold + 1.5 from the free budget
    expect(amounts(a)).toEqual({ total: "3", reserved: "0", spent: "2.5", remaining: "0.5" });
    let caught: unknown;
    try {
      r.commit("0.6");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BudgetExceededError);
    expect((caught as BudgetExceededError).message).toBe(
      "budget exceeded: committing 0.6 for agreement a1 needs 0.6, only 0.5 of 3 remains",
    );
    expect((caught as BudgetExceededError).agreementId).toBe("a1");
    expect((caught as BudgetExceededError).providerId).toBe("p1");
    expect(amounts(a)).toEqual({ total: "3", reserved: "0", spent: "2.5", remaining: "0.5" });
    r.commit("0.5");
    expect(formatAmount(a.remaining)).toBe("0");
  });

  it("grows a reservation only within the budget", () => {
    const a = new Allocation("2");
    const r = a.reserve("1", { owner: "x" });
    r.grow("1");
    expect(formatAmount(r.held)).toBe("2");
    expect(() => r.grow("0.1")).toThrow(BudgetExceededError);
    expect(formatAmount(r.available)).toBe("2");
  });

  it("tryReserve returns undefined when short", () => {
    const a = new Allocation("1");
    expect(a.tryReserve("2")).toBeUndefined();
    expect(a.tryReserve("1")).toBeDefined();
    expect(formatAmount(a.remaining)).toBe("0");
  });

  it("refuses bad amounts", () => {
    expect(() => new Allocation("ten")).toThrow('invalid budget: "ten"');
    expect(() => new Allocation("10").reserve("-1")).toThrow(PaymentError);
  });

  it("never exceeds the total under concurrent reservations from many providers", async () => {
    const a = new Allocation("10");
    let granted = 0;
    let refused = 0;
    const provider = async (i: number) => {
      for (let n = 0; n < 10; n++) {
        await sleep(i % 3); // interleave the callers
        try {
          const r = a.reserve("0.3", { owner: `provider ${i}` });
          granted++;
          await sleep(1);
          r.commit("0.3");
        } catch (err) {
          expect(err).toBeInstanceOf(BudgetExceededError);
          refused++;
        }
        expect(a.reserved.plus(a.spent).lte(a.total)).toBe(true);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => provider(i)));
    expect(granted).toBe(33); // floor(10 / 0.3)
    expect(refused).toBe(80 - 33);
    expect(amounts(a)).toEqual({ total: "10", reserved: "0", spent: "9.9", remaining: "0.1" });
  });

  it("never exceeds the total when concurrent commits draw on the free budget", async () => {
    const a = new Allocation("1");
    const rs = Array.from({ length: 5 }, (_, i) => a.reserve("0", { owner: `p${i}` }));
    const results = await Promise.allSettled(
      rs.flatMap((r) =>
        Array.from({ length: 4 }, async (_, k) => {
          await sleep(k);
          r.commit("0.07");
        }),
      ),
    );
    const ok = results.filter((x) => x.status === "fulfilled").length;
    expect(ok).toBe(14); // floor(1 / 0.07)
    expect(formatAmount(a.spent)).toBe("0.98");
    expect(a.spent.lte(a.total)).toBe(true);
  });
});

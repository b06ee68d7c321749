import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/errors.js";
import { DecreaseScoreForUnconfirmedAgreement } from "../../../src/market/decrease-score.js";
import { LeastExpensiveLinearPayu } from "../../../src/market/least-expensive.js";
import { rankOffers } from "../../../src/market/strategy.js";
import { candidate, offer } from "./fixtures.js";

const a = candidate("id-a", offer("a", { start: "0", perDurationSec: "0.0001", perCpuSec: "0.0001" }));
const b = candidate("id-b", offer("b", { start: "0", perDurationSec: "0.0002", perCpuSec: "0.0002" }));

describe("DecreaseScoreForUnconfirmedAgreement", () => {
  it("lowers providers that did not confirm, until they confirm again", () => {
    const base = new LeastExpensiveLinearPayu();
    const s = new DecreaseScoreForUnconfirmedAgreement(base, { factor: 0.25 });
    const order = () => rankOffers(s, [a, b]).accepted.map((r) => r.candidate.providerId);
    expect(order()).toEqual(["id-a", "id-b"]);
    s.agreementUnconfirmed("id-a");
    expect(s.isUnconfirmed("id-a")).toBe(true);
    expect(s.score(a)).toEqual({ score: (base.score(a) as { score: number }).score * 0.25 });
    expect(order()).toEqual(["id-b", "id-a"]);
    s.agreementConfirmed("id-a");
    expect(order()).toEqual(["id-a", "id-b"]);
  });

  it("passes rejections through", () => {
    const s = new DecreaseScoreForUnconfirmedAgreement(new LeastExpensiveLinearPayu({ maxStartPrice: "0" }));
    const pricey = candidate("id-p", offer("p", { start: "1", perDurationSec: "0", perCpuSec: "0" }));
    s.agreementUnconfirmed("id-p");
    expect(s.score(pricey)).toEqual({ reject: "start price 1 is above maxStartPrice 0" });
  });

  it("uses 0.5 by default and refuses factors outside [0, 1]", () => {
    expect(new DecreaseScoreForUnconfirmedAgreement(new LeastExpensiveLinearPayu()).factor).toBe(0.5);
    expect(
      () => new DecreaseScoreForUnconfirmedAgreement(new LeastExpensiveLinearPayu(), { factor: 2 }),
    ).toThrow(new UserError("invalid factor 2: expected a number in [0, 1]").message);
  });
});

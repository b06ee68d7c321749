import { describe, expect, it } from "vitest";
import { MarketError } from "../../../src/errors.js";
import { OfferBuilder } from "../../../src/market/offer.js";
import { LinearPricing } from "../../../src/payment/pricing.js";
import { offer } from "./fixtures.js";

describe("OfferBuilder", () => {
  it("writes the properties of DESIGN §5", () => {
    const o = offer("volunteer-1", { start: "0.01", perDurationSec: "0.0001", perCpuSec: "0.0005" });
    expect(o.kind).toBe("offer");
    expect(o.properties).toEqual({
      "agora.node.id.name": "volunteer-1",
      "agora.node.subnet": "devnet",
      "agora.inf.cpu.threads": 4,
      "agora.inf.mem.gib": 8,
      "agora.inf.storage.gib": 40,
      "agora.com.pricing.model": "linear",
      "agora.com.usage.vector": ["agora.usage.duration_sec", "agora.usage.cpu_sec"],
      "agora.com.pricing.model.linear.coeffs": ["0.0001", "0.0005", "0.01"],
      "agora.com.payment.debit-notes.interval-sec": 30,
      "agora.com.payment.accept-timeout-sec": 60,
      "agora.runtime.name": "docker",
    });
    expect(LinearPricing.fromProperties(o.properties).toString()).toBe("start 0.01, 0.36/h env, 1.8/h cpu");
  });

  it("keeps an explicit runtime", () => {
    expect(new OfferBuilder().runtime("vm").build().properties["agora.runtime.name"]).toBe("vm");
  });

  it.each([
    [
      () => new OfferBuilder().resources({ cpuThreads: 0, memGib: 1, storageGib: 1 }),
      "invalid cpuThreads: 0",
    ],
    [
      () => new OfferBuilder().resources({ cpuThreads: 1.5, memGib: 1, storageGib: 1 }),
      "invalid cpuThreads: 1.5",
    ],
    [() => new OfferBuilder().resources({ cpuThreads: 1, memGib: -1, storageGib: 1 }), "invalid memGib: -1"],
    [() => new OfferBuilder().debitNotes({ intervalSec: 0, acceptTimeoutSec: 10 }), "invalid intervalSec: 0"],
  ])("refuses bad values %#", (fn, message) => {
    expect(fn).toThrow(MarketError);
    expect(fn).toThrow(message);
  });

  it("returns frozen properties that later builder calls do not change", () => {
    const b = new OfferBuilder().set("a.b", [1, 2]);
    const o = b.build();
    b.set("a.b", 3);
    expect(o.properties["a.b"]).toEqual([1, 2]);
    expect(Object.isFrozen(o.properties)).toBe(true);
  });
});

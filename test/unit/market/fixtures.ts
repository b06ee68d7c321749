import { OfferBuilder } from "../../../src/market/offer.js";
import type { Offer } from "../../../src/market/spec.js";
import type { OfferCandidate } from "../../../src/market/strategy.js";
import { LinearPricing } from "../../../src/payment/pricing.js";

export const IMAGE = `docker:sha256:${"ab".repeat(32)}`;

/** A docker offer in `devnet` with the given prices (per second) and name. */
export function offer(
  name: string,
  prices: { start: string; perDurationSec: string; perCpuSec: string },
  resources = { cpuThreads: 4, memGib: 8, storageGib: 40 },
): Offer {
  return new OfferBuilder()
    .nodeName(name)
    .subnet("devnet")
    .resources(resources)
    .pricing(new LinearPricing(prices))
    .debitNotes({ intervalSec: 30, acceptTimeoutSec: 60 })
    .build();
}

export function candidate(providerId: string, o: Offer): OfferCandidate {
  return { providerId, offer: o };
}

/** Building a provider's offer (DESIGN §5). */
import { MarketError } from "../errors.js";
import type { LinearPricing } from "../payment/index.js";
import { escapeConstraintValue } from "./constraint-parser.js";
import { PROP } from "./properties.js";
import { SpecBuilder, type Offer } from "./spec.js";

export interface OfferedResources {
  readonly cpuThreads: number;
  readonly memGib: number;
  readonly storageGib: number;
}

export class OfferBuilder extends SpecBuilder<Offer> {
  /** The provider's display name (self-declared: not proof of identity). */
  nodeName(name: string): this {
    return this.set(PROP.nodeName, name);
  }

  /** Serve this subnet only: sets `agora.node.subnet` and requires the demand to be in it. */
  subnet(tag: string): this {
    return this.set(PROP.subnet, tag).require(`(${PROP.subnet}=${escapeConstraintValue(tag)})`);
  }

  /** @default name "docker" when never called. */
  runtime(name: string): this {
    return this.set(PROP.runtimeName, name);
  }

  /** CPU threads (a whole number ≥ 1), memory and storage in GiB (> 0). @throws MarketError */
  resources(r: OfferedResources): this {
    if (!Number.isInteger(r.cpuThreads) || r.cpuThreads < 1) {
      throw new MarketError(`invalid cpuThreads: ${r.cpuThreads} (expected a whole number ≥ 1)`);
    }
    for (const [what, v] of [
      ["memGib", r.memGib],
      ["storageGib", r.storageGib],
    ] as const) {
      if (!Number.isFinite(v) || v <= 0)
        throw new MarketError(`invalid ${what}: ${v} (expected a positive number)`);
    }
    return this.set(PROP.cpuThreads, r.cpuThreads)
      .set(PROP.memGib, r.memGib)
      .set(PROP.storageGib, r.storageGib);
  }

  /** The price list: `agora.com.pricing.model`, `…usage.vector`, `…linear.coeffs`. */
  pricing(pricing: LinearPricing): this {
    return this.setAll(pricing.toProperties());
  }

  /** How often debit notes come and how long the requestor has to accept one (seconds). */
  debitNotes(t: { intervalSec: number; acceptTimeoutSec: number }): this {
    for (const [what, v] of Object.entries(t)) {
      if (!Number.isInteger(v) || v < 1)
        throw new MarketError(`invalid ${what}: ${v} (expected whole seconds ≥ 1)`);
    }
    return this.set(PROP.debitNoteIntervalSec, t.intervalSec).set(
      PROP.paymentAcceptTimeoutSec,
      t.acceptTimeoutSec,
    );
  }

  build(): Offer {
    if (!Object.hasOwn(this.props, PROP.runtimeName)) this.runtime("docker");
    return { kind: "offer", ...this.spec() };
  }
}

/**
 * Both sides of the payment protocol on a MemoryBus, without Docker: a provider's BillingService
 * metering fake activities (usage set by the test), and a requestor's PaymentManager (or a
 * requestor that never answers, or none at all).
 */
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import {
  OfferBuilder,
  PROP,
  specToWire,
  type SignedAgreement,
  type Termination,
} from "../../../src/market/index.js";
import {
  Allocation,
  Ledger,
  LedgerPaymentDriver,
  LinearPricing,
  paymentSubject,
} from "../../../src/payment/index.js";
import type { AgreementRecord } from "../../../src/provider/agreements.js";
import { BillingService, type BillingTamper, type MeteredActivity } from "../../../src/provider/index.js";
import { NodeIdentity } from "../../../src/protocol/index.js";
import { PaymentManager, type PaymentEvent } from "../../../src/requestor/index.js";
import { MemoryBus, SignedNode } from "../../../src/transport/index.js";

export interface BillingSetupOptions {
  /** Debit-note interval, seconds (fractions allowed here). @default 0.05 */
  readonly intervalSec?: number;
  /** Acceptance deadline, seconds. @default 0.5 */
  readonly acceptSec?: number;
  readonly prices?: { start: string; perDurationSec: string; perCpuSec: string };
  readonly threads?: number;
  readonly tamper?: BillingTamper;
  /** `manager`: a PaymentManager answers; `silent`: the requestor never answers; `absent`: nobody listens. */
  readonly requestor?: "manager" | "silent" | "absent";
  readonly budget?: string;
  /** How long before "now" the agreement was approved (the elapsed-time check). @default 3_600_000 */
  readonly approvedAgoMs?: number;
  readonly holdAheadSec?: number;
}

export interface Side {
  readonly providerId: string;
  readonly agreement: SignedAgreement;
  readonly record: AgreementRecord;
  readonly billing: BillingService;
  readonly providerLedger: Ledger;
  /** Seconds of usage the fake runtime reports, per container id. */
  readonly usage: Map<string, { durationSec: number; cpuSec: number }>;
  /** The live activities billing sees. */
  readonly activities: MeteredActivity[];
  /** Terminations the provider made. */
  readonly providerTerminations: { reason: string; message: string }[];
}

export interface BillingSetup {
  readonly bus: MemoryBus;
  readonly requestor: SignedNode;
  readonly manager: PaymentManager | undefined;
  readonly allocation: Allocation;
  readonly events: PaymentEvent[];
  /** Terminations the requestor made. */
  readonly requestorTerminations: { agreementId: string; termination: Termination }[];
  readonly sides: Side[];
  addProvider(): Promise<Side>;
  close(): Promise<void>;
}

const silent = pino({ level: "silent" });

export async function billingSetup(o: BillingSetupOptions = {}): Promise<BillingSetup> {
  const bus = new MemoryBus();
  const requestor = new SignedNode({ bus, identity: NodeIdentity.generate() });
  const allocation = new Allocation(o.budget ?? "100");
  const events: PaymentEvent[] = [];
  const requestorTerminations: BillingSetup["requestorTerminations"] = [];
  const sides: Side[] = [];
  const mode = o.requestor ?? "manager";
  let manager: PaymentManager | undefined;
  if (mode === "manager") {
    manager = await PaymentManager.create({
      node: requestor,
      allocation,
      terminate: (agreement, termination) => {
        requestorTerminations.push({ agreementId: agreement.agreementId, termination });
        const side = sides.find((s) => s.agreement.agreementId === agreement.agreementId);
        if (side) void end(side, termination.reason, termination.message ?? "");
        return Promise.resolve();
      },
      ...(o.holdAheadSec === undefined ? {} : { holdAheadSec: o.holdAheadSec }),
      paymentTimeoutMs: 2_000,
    });
    manager.events$.subscribe((e) => events.push(e));
  } else if (mode === "silent") {
    requestor.serve(paymentSubject(requestor.nodeId), () => new Promise(() => undefined));
  }

  const end = (side: Side, reason: string, message: string): Promise<void> =>
    endAgreement(side, reason, message);

  const addProvider = async (): Promise<Side> => {
    const identity = NodeIdentity.generate();
    const node = new SignedNode({ bus, identity });
    const prices = o.prices ?? { start: "0.5", perDurationSec: "0.01", perCpuSec: "0.02" };
    const offer = new OfferBuilder()
      .nodeName("unit")
      .subnet("devnet")
      .resources({ cpuThreads: o.threads ?? 2, memGib: 1, storageGib: 1 })
      .pricing(new LinearPricing(prices))
      .debitNotes({ intervalSec: 60, acceptTimeoutSec: 120 })
      .build();
    const agreement: SignedAgreement = {
      agreementId: randomUUID(),
      demandId: randomUUID(),
      proposalId: randomUUID(),
      requestorId: requestor.nodeId,
      providerId: identity.nodeId,
      demand: {
        properties: {
          [PROP.debitNoteIntervalSec]: o.intervalSec ?? 0.05,
          [PROP.paymentAcceptTimeoutSec]: o.acceptSec ?? 0.5,
        },
        constraints: "",
      },
      offer: specToWire(offer),
      expiresAt: Date.now() + 3_600_000,
      requestorSignature: "",
      providerSignature: "",
      approvedAt: Date.now() - (o.approvedAgoMs ?? 3_600_000),
    };
    const record: AgreementRecord = {
      agreement,
      state: "approved",
      activities: new Set(),
      idleTimer: undefined,
      expiryTimer: undefined,
    };
    const providerLedger = await Ledger.open();
    const usage = new Map<string, { durationSec: number; cpuSec: number }>();
    const activities: MeteredActivity[] = [];
    const side: Side = {
      providerId: identity.nodeId,
      agreement,
      record,
      providerLedger,
      usage,
      activities,
      providerTerminations: [],
      billing: new BillingService({
        node,
        runtime: { usage: (id) => Promise.resolve(usage.get(id) ?? { durationSec: 0, cpuSec: 0 }) },
        driver: new LedgerPaymentDriver({ ledger: providerLedger }),
        logger: silent,
        activitiesOf: () => activities,
        terminate: (r, reason, message) => end(side, reason, message),
        defaults: { debitNoteIntervalSec: 60, paymentAcceptTimeoutSec: 120 },
        ...(o.tamper ? { tamper: o.tamper } : {}),
      }),
    };
    side.billing.start();
    manager?.open(agreement);
    side.billing.agreementApproved(record);
    sides.push(side);
    return side;
  };

  return {
    bus,
    requestor,
    manager,
    allocation,
    events,
    requestorTerminations,
    sides,
    addProvider,
    async close() {
      for (const s of sides) {
        s.billing.close();
        await s.providerLedger.close();
      }
      await manager?.close();
      requestor.close();
      await bus.close();
    },
  };
}

/** A running activity with its container (metered from now on). */
export function runActivity(side: Side, durationSec: number, cpuSec: number): string {
  const id = randomUUID();
  const container = `c-${id}`;
  side.usage.set(container, { durationSec, cpuSec });
  side.activities.push({ id, runningContainer: container });
  return container;
}

/** End the agreement as the agent does: mark it, take the final readings, then invoice. */
export async function endAgreement(side: Side, reason = "Success", message = "ended"): Promise<void> {
  if (side.record.state === "terminated") return;
  side.record.state = "terminated";
  side.providerTerminations.push({ reason, message });
  for (const a of side.activities.splice(0)) {
    if (a.runningContainer)
      await side.billing.finalReading(side.agreement.agreementId, a.id, a.runningContainer);
  }
  side.billing.agreementEnded(side.record);
}

/** Poll `check` every 10 ms until it is true, at most `ms`. */
export async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Payments end to end (issue 7), run on each bus with provider agents on the real Docker engine:
 * a real run is charged within the agreed prices and both sides' ledgers agree; an overbilling
 * provider is rejected, terminated and not paid; a requestor that never accepts is cut off in time;
 * a budget too small for all tasks stops the run early with every accepted result returned.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BudgetExceededError,
  docker,
  Executor,
  onBus,
  Task,
  type ExecutorEvent,
  type Worker,
} from "../../../src/index.js";
import type { ImageHash } from "../../../src/images/index.js";
import { ImageStore } from "../../../src/images/index.js";
import type { Termination } from "../../../src/market/index.js";
import { demandFor, LeastExpensiveLinearPayu } from "../../../src/market/index.js";
import { Ledger, money, sumAmounts, type Decimal } from "../../../src/payment/index.js";
import { ProviderAgent, type BillingTamper, type Preset } from "../../../src/provider/index.js";
import { DockerRuntime } from "../../../src/provider/runtime/index.js";
import { Batch, RequestorNode } from "../../../src/requestor/index.js";
import type { Bus } from "../../../src/transport/index.js";
import { testImageStoreRoot } from "../helpers/busybox-image.js";
import { busyboxHash } from "../market/fixture.js";
import { collect } from "../helpers/collect-tasks.js";

export interface PaymentBuses {
  readonly providerBus: Bus;
  readonly requestorBus: Bus;
  readonly settle?: () => Promise<void>;
  close(): Promise<void>;
}

/** Prices per second; a debit note every second, 5 s to accept it. */
function preset(subnet: string, pricing: Preset["pricing"], acceptSec = 5): Preset {
  return {
    name: "paytest",
    description: "",
    subnet,
    resources: { cpuThreads: 1, memGib: 0.5, storageGib: 4 },
    pricing,
    limits: {
      maxAgreements: 2,
      maxAgreementDurationSec: 3600,
      debitNoteIntervalSec: { min: 1, max: 600, default: 1 },
      paymentAcceptTimeoutSec: { min: 1, max: 3600, default: acceptSec },
      idleTimeoutSec: 60,
      allowRequestors: [],
      denyRequestors: [],
    },
  };
}

const PRICES = { start: "0.01", perDurationSec: "0.001", perCpuSec: "0.002" };

/** Runs `sleep <s>; echo <n>` per task and accepts the echoed number. */
function sleepWorker(seconds: number): Worker<number, number> {
  return async function* (ctx, tasks) {
    for await (const task of tasks) {
      ctx.run(`sleep ${seconds}; echo ${task.data}`);
      const results = yield ctx.commit({ timeout: 60_000 });
      task.acceptResult(Number(results[0]?.stdout.trim()));
    }
  };
}

function paidTo(events: readonly ExecutorEvent[], providerId: string): Decimal {
  return sumAmounts(
    events.flatMap((e) =>
      e.type === "payment.sent" && e.providerId === providerId ? [money(e.amount)] : [],
    ),
  );
}

export function paymentScenario(busName: string, buses: () => Promise<PaymentBuses>): void {
  describe(`payments on ${busName}`, () => {
    let hash: ImageHash;
    let b: PaymentBuses | undefined;
    let root: string | undefined;
    const agents: ProviderAgent[] = [];
    const runtime = new DockerRuntime({ killGraceMs: 1_000 });
    let subnet = "";

    beforeAll(async () => {
      hash = await busyboxHash();
      process.env.AGORA_HOME = dirname(testImageStoreRoot()); // the requestor's default image store
    });
    afterEach(async () => {
      await Promise.all(agents.splice(0).map((a) => a.shutdown()));
      await b?.close();
      if (root) await rm(root, { recursive: true, force: true });
      b = undefined;
      root = undefined;
    });

    const open = async (): Promise<PaymentBuses> => {
      b = await buses();
      root = await mkdtemp(join(tmpdir(), "agora-pay-"));
      subnet = `pay${Math.random().toString(36).slice(2, 10)}`;
      return b;
    };
    const addAgent = async (p: Preset, tamper?: BillingTamper): Promise<ProviderAgent> => {
      const agent = await ProviderAgent.create({
        bus: b!.providerBus,
        runtime,
        dataDir: join(root!, `p${agents.length + 1}`),
        preset: p,
        name: `${subnet}-${agents.length + 1}`,
        announceIntervalMs: 0,
        capToMachine: false,
        shutdownGraceMs: 5_000,
        containerLimits: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 500_000_000, pidsLimit: 64 },
        ...(tamper ? { billingTamper: tamper } : {}),
      });
      agents.push(agent);
      await b!.settle?.();
      return agent;
    };
    const executor = (budget: string, maxWorkers: number): Executor =>
      new Executor({
        package: docker.repo({ imageHash: hash }),
        network: onBus(b!.requestorBus, b!.settle ? { settle: b!.settle } : {}),
        subnetTag: subnet,
        maxWorkers,
        budget,
        timeout: 60_000,
        marketWindowMs: 500,
        shutdownGraceMs: 10_000,
      });

    it("charges a real run within the agreed prices, and both ledgers agree", async () => {
      await open();
      const a1 = await addAgent(preset(subnet, PRICES));
      const a2 = await addAgent(preset(subnet, PRICES));
      const ex = executor("5", 2);
      const events: ExecutorEvent[] = [];
      ex.events$.subscribe((e) => events.push(e));
      const started = Date.now();
      const { tasks, error } = await collect(
        ex.submit(
          sleepWorker(1),
          [1, 2, 3, 4, 5, 6].map((n) => new Task<number, number>(n)),
        ),
      );
      expect(error).toBeUndefined();
      expect(tasks.map((t) => t.result).sort()).toEqual([1, 2, 3, 4, 5, 6]);
      await ex.shutdown();
      const elapsedSec = (Date.now() - started) / 1000;

      const accepted = events.filter((e) => e.type === "payment.debit_note_accepted");
      expect(accepted.length).toBeGreaterThan(0);
      expect(events.filter((e) => e.type === "payment.debit_note_rejected")).toEqual([]);
      const sent = events.filter((e) => e.type === "payment.sent");
      const agreements = events.filter((e) => e.type === "agreement.created");
      expect(sent).toHaveLength(agreements.length);
      // Within the agreed prices: at most start + elapsed × (per-second + per-CPU-second × 1 thread) each.
      const bound = money(PRICES.start).plus(
        money(PRICES.perDurationSec).plus(PRICES.perCpuSec).times(Math.ceil(elapsedSec)),
      );
      for (const e of sent) {
        expect(money(e.amount).gt(0)).toBe(true);
        expect(money(e.amount).lte(bound)).toBe(true);
      }
      // Both ledgers: what the requestor paid is what each provider recorded, invoice by invoice.
      const paid = await ex.paymentSummary();
      expect(paid?.ledgerPath).toBeDefined();
      const requestorLedger = await Ledger.open({ path: paid!.ledgerPath! });
      try {
        const r = requestorLedger.index;
        expect(r.unpaidInvoices()).toEqual([]);
        for (const agent of [a1, a2]) {
          const p = agent.ledger.index;
          expect(p.unpaidInvoices()).toEqual([]);
          expect(p.paidTotal().equals(p.invoicedTotal())).toBe(true);
          expect(p.paidTotal().equals(paidTo(events, agent.nodeId))).toBe(true);
          for (const rec of p.records) expect(r.records).toContainEqual(rec);
        }
        expect(r.paidTotal().equals(a1.ledger.index.paidTotal().plus(a2.ledger.index.paidTotal()))).toBe(
          true,
        );
        expect(paid!.paid.equals(r.paidTotal())).toBe(true);
        expect(paid!.spent.equals(r.paidTotal())).toBe(true);
      } finally {
        await requestorLedger.close();
        await rm(dirname(paid!.ledgerPath!), { recursive: true, force: true });
      }
    });

    it("rejects an overbilling provider, terminates it and does not pay it; the tasks finish elsewhere", async () => {
      await open();
      const cheat = await addAgent(preset(subnet, { ...PRICES, start: "0" }), {
        debitNote: (n) => ({ ...n, totalAmount: n.totalAmount.times(3) }),
        invoice: (i) => ({ ...i, amount: i.amount.plus("1") }),
      });
      const honest = await addAgent(preset(subnet, PRICES));
      const ex = executor("5", 2);
      const events: ExecutorEvent[] = [];
      ex.events$.subscribe((e) => events.push(e));
      const { tasks, error } = await collect(
        ex.submit(
          sleepWorker(2),
          [1, 2, 3, 4].map((n) => new Task<number, number>(n)),
        ),
      );
      expect(error).toBeUndefined();
      expect(tasks.every((t) => t.status === "accepted")).toBe(true);
      await ex.shutdown();
      const rejected = events.filter(
        (e) => e.type === "payment.debit_note_rejected" && e.providerId === cheat.nodeId,
      );
      expect(rejected.length).toBeGreaterThan(0);
      expect(rejected[0]).toMatchObject({
        reason: expect.stringMatching(/is not the agreed price/) as string,
      });
      expect(
        events.some(
          (e) =>
            e.type === "agreement.terminated" &&
            e.providerId === cheat.nodeId &&
            e.reason === "DebitNoteRejected",
        ),
      ).toBe(true);
      expect(paidTo(events, cheat.nodeId).isZero()).toBe(true);
      expect(cheat.ledger.index.records).toEqual([]);
      expect(cheat.liveActivities).toBe(0);
      expect(honest.ledger.index.paidTotal().gt(0)).toBe(true);
      const summary = await ex.paymentSummary();
      await rm(dirname(summary!.ledgerPath!), { recursive: true, force: true });
    });

    it("a requestor that never accepts: the provider terminates in time (DebitNotesDeadline) and stops the work", async () => {
      await open();
      const agent = await addAgent(preset(subnet, PRICES, 2));
      const requestor = new RequestorNode({
        bus: b!.requestorBus,
        subnet,
        imageStore: new ImageStore({ root: testImageStoreRoot() }),
        images: [hash],
      });
      try {
        await b!.settle?.();
        const heard: Termination[] = [];
        requestor.market.onTerminated((_id, t) => heard.push(t));
        const { agreement } = await requestor.market.negotiate(
          demandFor({ taskPackage: `docker:${hash}`, expiresAt: Date.now() + 300_000, subnet }),
          new LeastExpensiveLinearPayu(),
          { windowMs: 500, expiresAt: Date.now() + 300_000 },
        );
        const activity = await requestor.activities.create(agreement);
        const started = Date.now();
        const outcome = await requestor.activities
          .exec(activity, new Batch().deploy().start().run("/bin/sh", "-c", "sleep 60; echo done"), {
            timeoutMs: 90_000,
          })
          .catch((err: unknown) => err);
        const tookMs = Date.now() - started;
        // The batch ends unfinished: failed (ok: false) or refused because the agreement ended.
        if (outcome instanceof Error) expect(outcome.message).toMatch(/terminat|destroy|ended/i);
        else expect(outcome).toMatchObject({ ok: false });
        expect(tookMs).toBeLessThan(20_000); // the 60 s command was stopped
        expect(heard.map((t) => t.reason)).toEqual(["DebitNotesDeadline"]);
        expect(heard[0]!.message).toMatch(/^debit note 1 of activity .* was not accepted within 2 s$/);
        expect(agent.activeAgreements).toBe(0);
        expect(agent.liveActivities).toBe(0);
      } finally {
        requestor.close();
      }
    });

    it("a budget too small for all tasks: stops early with BudgetExceededError, spends at most the budget, returns what was accepted", async () => {
      await open();
      const pricing = { start: "0", perDurationSec: "0.01", perCpuSec: "0" };
      const agent = await addAgent(preset(subnet, pricing));
      const budget = "0.15";
      const ex = executor(budget, 1);
      const events: ExecutorEvent[] = [];
      ex.events$.subscribe((e) => events.push(e));
      const { tasks, error } = await collect(
        ex.submit(
          sleepWorker(1),
          Array.from({ length: 30 }, (_, i) => new Task<number, number>(i)),
        ),
      );
      expect(error).toBeInstanceOf(BudgetExceededError);
      const accepted = tasks.filter((t) => t.status === "accepted");
      expect(accepted.length).toBeGreaterThan(0);
      expect(accepted.length).toBeLessThan(30);
      for (const t of accepted) expect(t.result).toBe(t.data);
      expect(events.some((e) => e.type === "budget.exceeded")).toBe(true);
      expect(events.some((e) => e.type === "agreement.terminated" && e.reason === "Cancelled")).toBe(true);
      await ex.shutdown();
      const summary = (await ex.paymentSummary())!;
      expect(summary.spent.lte(budget)).toBe(true);
      expect(summary.paid.lte(budget)).toBe(true);
      expect(agent.ledger.index.paidTotal().lte(budget)).toBe(true);
      expect(agent.ledger.index.paidTotal().equals(summary.paid)).toBe(true);
      expect(agent.ledger.index.unpaidInvoices()).toEqual([]);
      await rm(dirname(summary.ledgerPath!), { recursive: true, force: true });
    });
  });
}

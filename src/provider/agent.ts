/**
 * ProviderAgent (DESIGN §8): connects to the Bus, answers demands that match its offer, approves
 * agreements per its preset's rules, serves activities in hardened containers, terminates idle
 * agreements, and on shutdown terminates its agreements (`Shutdown`) and removes its containers.
 */
import { join } from "node:path";
import { mkdir, rm } from "node:fs/promises";
import type { Logger } from "pino";
import { pino } from "pino";
import { ImageStore, type ImageSource } from "../images/index.js";
import { type Offer } from "../market/index.js";
import { Ledger, LedgerPaymentDriver } from "../payment/index.js";
import { NodeIdentity, type Clock, type NodeId } from "../protocol/index.js";
import { SignedNode, StreamSender, type Bus } from "../transport/index.js";
import { ActivityService } from "./activity-service.js";
import { AgreementRegistry } from "./agreements.js";
import { BillingService, type BillingTamper } from "./billing.js";
import { MarketService } from "./market-service.js";
import { Negotiator, offerFromPreset } from "./negotiator.js";
import { capResources, loadPreset, machineResources, parsePreset, type Preset } from "./preset.js";
import type { ContainerRuntime, ResourceLimits } from "./runtime/index.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export interface ProviderAgentOptions {
  readonly bus: Bus;
  /** Holds the identity key (0600) and, by default, the image cache. */
  readonly dataDir: string;
  readonly runtime: ContainerRuntime;
  /** @default loaded (or created) from `dataDir` */
  readonly identity?: NodeIdentity;
  /** A preset, or a bundled name / file path. @default "default" */
  readonly preset?: Preset | string;
  /** Shown in offers. @default the preset's name */
  readonly name?: string;
  /** @default the preset's subnet */
  readonly subnet?: string;
  /** @default `<dataDir>/images` */
  readonly imageStore?: ImageStore;
  /** Tried after the requestor for images. @default [] */
  readonly imageSources?: readonly ImageSource[];
  /** @default silent */
  readonly logger?: Logger;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Terminate agreements with no activity this long (`NoActivity`). @default the preset's idleTimeoutSec */
  readonly idleTimeoutMs?: number;
  /** Offer announcements on `agora.<subnet>.offers`; 0 = none. @default 10_000 */
  readonly announceIntervalMs?: number;
  /** How long a proposal may be turned into an agreement. @default 60_000 */
  readonly proposalTtlMs?: number;
  /** Largest upload or download. @default 256 MiB */
  readonly maxTransferBytes?: number;
  /** Cap offered resources to this machine's. @default true */
  readonly capToMachine?: boolean;
  /** Container limits beyond the offer's memory and threads. @default 512 pids, 64 MiB /tmp, 1 MiB logs */
  readonly containerLimits?: Partial<ResourceLimits>;
  /** Shutdown waits this long for terminations and container removal. @default 15_000 */
  readonly shutdownGraceMs?: number;
  /** The provider's payment ledger (JSON lines). @default `<dataDir>/payments/ledger.jsonl` */
  readonly ledgerPath?: string;
  /** Test-only: bill more than agreed (a misbehaving provider). @default none */
  readonly billingTamper?: BillingTamper;
}

export type ProviderAgentState = "running" | "stopping" | "stopped";

export class ProviderAgent {
  readonly nodeId: NodeId;
  readonly node: SignedNode;
  readonly preset: Preset;
  readonly offer: Offer;
  #state: ProviderAgentState = "running";
  #shutdown: Promise<void> | undefined;
  readonly #logger: Logger;
  readonly #runtime: ContainerRuntime;
  readonly #sender: StreamSender;
  readonly #agreements: AgreementRegistry;
  readonly #market: MarketService;
  readonly #activities: ActivityService;
  readonly #billing: BillingService;
  readonly #ledger: Ledger;
  readonly #graceMs: number;

  private constructor(parts: {
    node: SignedNode;
    preset: Preset;
    offer: Offer;
    opts: ProviderAgentOptions;
    store: ImageStore;
    logger: Logger;
    ledger: Ledger;
  }) {
    const { node, preset, opts, logger } = parts;
    this.node = node;
    this.nodeId = node.nodeId;
    this.preset = preset;
    this.offer = parts.offer;
    this.#logger = logger;
    this.#runtime = opts.runtime;
    this.#graceMs = opts.shutdownGraceMs ?? 15_000;
    this.#sender = new StreamSender({ node, logger });
    this.#ledger = parts.ledger;
    this.#billing = new BillingService({
      node,
      runtime: opts.runtime,
      driver: new LedgerPaymentDriver({ ledger: parts.ledger, now: () => node.clock.now() }),
      logger,
      activitiesOf: (agreementId) => this.#activities.activitiesOf(agreementId),
      terminate: (record, reason, message) => this.#market.terminate(record, reason, message),
      defaults: {
        debitNoteIntervalSec: preset.limits.debitNoteIntervalSec.default,
        paymentAcceptTimeoutSec: preset.limits.paymentAcceptTimeoutSec.default,
      },
      ...(opts.billingTamper ? { tamper: opts.billingTamper } : {}),
    });
    this.#agreements = new AgreementRegistry({
      idleTimeoutMs: opts.idleTimeoutMs ?? preset.limits.idleTimeoutSec * 1000,
      msUntil: (at) => at - node.clock.now(),
      onAdded: (record) => this.#billing.agreementApproved(record),
      onTimeout: (record) => void this.#market.notifyTerminated(record),
    });
    this.#activities = new ActivityService({
      node,
      sender: this.#sender,
      runtime: opts.runtime,
      store: parts.store,
      imageSources: opts.imageSources ?? [],
      agreements: this.#agreements,
      limits: {
        memoryBytes: Math.floor(preset.resources.memGib * GiB),
        nanoCpus: preset.resources.cpuThreads * 1e9,
        pidsLimit: 512,
        tmpfsBytes: 64 * MiB,
        logMaxBytes: MiB,
        ...opts.containerLimits,
      },
      agentId: this.nodeId,
      maxTransferBytes: opts.maxTransferBytes ?? 256 * MiB,
      spoolDir: join(opts.dataDir, "spool"),
      imageIdleTimeoutMs: 30_000,
      logger,
      beforeDestroy: (activity, containerId) =>
        this.#billing.finalReading(activity.agreementId, activity.id, containerId),
    });
    this.#market = new MarketService({
      node,
      negotiator: new Negotiator(preset, parts.offer),
      agreements: this.#agreements,
      subnet: preset.subnet,
      logger,
      proposalTtlMs: opts.proposalTtlMs ?? 60_000,
      announceIntervalMs: opts.announceIntervalMs ?? 10_000,
      onTerminated: async (record) => {
        try {
          await this.#activities.endAgreement(record);
        } finally {
          this.#billing.agreementEnded(record); // the invoice, with the final usage
        }
      },
    });
  }

  /** Resolve the options, remove containers an earlier run left, and start serving. */
  static async create(opts: ProviderAgentOptions): Promise<ProviderAgent> {
    const identity = opts.identity ?? (await NodeIdentity.loadOrCreate(opts.dataDir));
    const loaded =
      typeof opts.preset === "object" ? parsePreset(opts.preset) : await loadPreset(opts.preset ?? "default");
    await mkdir(opts.dataDir, { recursive: true });
    await rm(join(opts.dataDir, "spool"), { recursive: true, force: true }); // downloads of an earlier run
    const resources =
      opts.capToMachine === false
        ? loaded.resources
        : capResources(loaded, await machineResources(opts.dataDir));
    const preset: Preset = { ...loaded, resources, subnet: opts.subnet ?? loaded.subnet };
    const logger = (opts.logger ?? pino({ level: "silent" })).child({ provider: opts.name ?? preset.name });
    const node = new SignedNode({
      bus: opts.bus,
      identity,
      logger,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    const removed = await opts.runtime.cleanupOrphans(identity.nodeId);
    if (removed > 0) logger.info({ removed }, "removed containers of an earlier run");
    const offer = offerFromPreset(preset, opts.name ?? preset.name);
    const store = opts.imageStore ?? new ImageStore({ root: join(opts.dataDir, "images") });
    const ledger = await Ledger.open({
      path: opts.ledgerPath ?? join(opts.dataDir, "payments", "ledger.jsonl"),
    });
    const agent = new ProviderAgent({ node, preset, offer, opts, store, logger, ledger });
    agent.#billing.start();
    agent.#activities.start();
    agent.#market.start();
    logger.info({ nodeId: identity.nodeId, subnet: preset.subnet }, "provider agent started");
    return agent;
  }

  get state(): ProviderAgentState {
    return this.#state;
  }

  /** Agreements in force. */
  get activeAgreements(): number {
    return this.#agreements.active;
  }

  /** Activities not yet terminated. */
  get liveActivities(): number {
    return this.#activities.live;
  }

  /** The provider's payment ledger (accepted invoices and the payments received). */
  get ledger(): Ledger {
    return this.#ledger;
  }

  /** Announce the offer now (besides the periodic announcements). */
  announce(): void {
    this.#market.announce();
  }

  /**
   * Stop answering, terminate every agreement (`Shutdown`, the requestors are told), remove the
   * containers. Bounded by `shutdownGraceMs`; safe to call twice (the same promise).
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#doShutdown();
    return this.#shutdown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  async #doShutdown(): Promise<void> {
    this.#state = "stopping";
    this.#market.stop();
    this.#activities.stop();
    const work = Promise.allSettled(
      this.#agreements
        .inForce()
        .map((r) => this.#market.terminate(r, "Shutdown", "the provider is shutting down")),
    );
    try {
      if (!(await within(work, this.#graceMs)))
        this.#logger.warn({ graceMs: this.#graceMs }, "shutdown grace passed; removing containers");
      if (!(await within(this.#runtime.cleanupOrphans(this.nodeId), this.#graceMs)))
        this.#logger.warn("removing containers did not finish within the grace");
      if (!(await within(this.#billing.drain(), this.#graceMs)))
        this.#logger.warn("invoices and payments still open when the grace passed");
    } catch (err) {
      this.#logger.warn({ err }, "removing containers at shutdown failed");
    } finally {
      this.#billing.close();
      await within(this.#ledger.close(), this.#graceMs).catch((err: unknown) =>
        this.#logger.warn({ err }, "closing the ledger failed"),
      );
      this.#sender.close();
      this.node.close();
      this.#state = "stopped";
      this.#logger.info("provider agent stopped");
    }
  }
}

/** True when `work` settles within `ms` (its rejection is rethrown), false when time ran out. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

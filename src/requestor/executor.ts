/**
 * The Executor (DESIGN §6): finds providers on the market for a package, keeps agreements, runs one
 * worker generator per provider activity and streams each task back once it is final.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Observable } from "rxjs";
import { AbortError, BudgetExceededError, MarketError, TimeoutError, UserError } from "../errors.js";
import { ImageStore } from "../images/index.js";
import { demandFor } from "../market/index.js";
import { formatAmount, type Allocation } from "../payment/index.js";
import { AgreementPool } from "./agreement-pool.js";
import { settleWithin } from "./bounded.js";
import { EventHub, type ExecutorEvent } from "./events.js";
import {
  budgetAllocation,
  resolveExecutorOptions,
  type ExecutorOptions,
  type ResolvedExecutorOptions,
} from "./executor-options.js";
import type { Network, NetworkConnection } from "./network.js";
import { describePackage } from "./package.js";
import type { PaymentSummary } from "./payment-events.js";
import { PaymentManager } from "./payment-manager.js";
import { RequestorNode } from "./requestor-node.js";
import { Run } from "./run.js";
import type { Task } from "./task.js";
import { TaskQueue } from "./task-queue.js";
import type { Worker } from "./worker.js";

export type ExecutorState = "new" | "starting" | "running" | "stopping" | "stopped";

export interface SubmitOptions {
  /** Stop this submit: unfinished tasks end rejected with an AbortError. */
  readonly signal?: AbortSignal;
}

interface Parts {
  readonly conn: NetworkConnection;
  readonly node: RequestorNode;
  readonly pool: AgreementPool;
  readonly payments: PaymentManager;
}

export class Executor {
  /** The options, resolved (every default filled in). */
  readonly options: ResolvedExecutorOptions;
  /** Every event of this executor, in order (an Observable: subscribe, or pipe it). */
  readonly events$: Observable<ExecutorEvent>;
  /**
   * The budget. PAYMENTS SEAM: the requestor payments module reserves from and spends this
   * Allocation when it accepts debit notes and invoices (see AgreementPool's onAgreement hooks).
   */
  readonly budget: Allocation;
  readonly #hub: EventHub;
  #state: ExecutorState = "new";
  #parts: Promise<Parts> | undefined;
  #shutdown: Promise<void> | undefined;
  readonly #runs = new Set<Run<unknown, unknown>>();
  readonly #deadline = new AbortController();
  #deadlineTimer: NodeJS.Timeout | undefined;

  /**
   * @param defaults the embedded default network (the package root passes `local()`).
   * @throws UserError naming the bad option.
   */
  constructor(options: ExecutorOptions, defaults: { network?: () => Network } = {}) {
    this.options = resolveExecutorOptions(options, () => {
      if (!defaults.network)
        throw new UserError("Executor options: network is required here (local() or nats())");
      return defaults.network();
    });
    this.#hub = new EventHub(this.options.logger, this.options.eventConsumer);
    this.events$ = this.#hub.events$;
    this.budget = budgetAllocation(this.options);
  }

  get state(): ExecutorState {
    return this.#state;
  }

  /** What was accepted and paid, per provider and in total (undefined before the first submit). */
  async paymentSummary(): Promise<PaymentSummary | undefined> {
    const parts = await this.#parts?.catch(() => undefined);
    return parts?.payments.summary();
  }

  /**
   * Run `worker` on `tasks` (read lazily, as workers take them). Yields every task once it is final:
   * `accepted` (with its `result`) or `rejected` (with its `reason`, after `maxTaskRetries` retries
   * on other providers, or at once with `rejectResult(…, { retry: false })`). When the run ends
   * early — the executor's `timeout`, no provider agreeing, the `signal`, `shutdown()` — the
   * unfinished tasks are yielded `rejected` with that reason, then iteration throws it (a
   * `TimeoutError`, a `MarketError` naming what was asked, an `AbortError`). Breaking out of the
   * loop stops the run the same way.
   */
  async *submit<D, R>(
    worker: Worker<D, R>,
    tasks: Iterable<Task<D, R>> | AsyncIterable<Task<D, R>>,
    opts: SubmitOptions = {},
  ): AsyncGenerator<Task<D, R>, void, undefined> {
    if (typeof worker !== "function")
      throw new UserError("submit(worker, tasks): worker must be an async generator function");
    if (
      tasks === null ||
      typeof tasks !== "object" ||
      !(Symbol.iterator in tasks || Symbol.asyncIterator in tasks)
    )
      throw new UserError("submit(worker, tasks): tasks must be an Iterable or AsyncIterable of Task");
    const parts = await this.#start();
    const emit = (e: ExecutorEvent): void => this.#hub.emit(e);
    const queue = new TaskQueue<D, R>(tasks, {
      maxRetries: this.options.maxTaskRetries,
      emit,
      logger: this.options.logger,
    });
    const run = new Run<D, R>({
      node: parts.node,
      pool: parts.pool,
      queue,
      worker,
      maxWorkers: this.options.maxWorkers,
      taskTimeoutMs: this.options.taskTimeoutMs,
      emit,
      logger: this.options.logger,
      graceMs: this.options.shutdownGraceMs,
    });
    const asRun = run as unknown as Run<unknown, unknown>;
    this.#runs.add(asRun);
    const stopOn = (signal: AbortSignal, why: () => Error): (() => void) => {
      const onAbort = (): void => void run.stop(why());
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
      return () => signal.removeEventListener("abort", onAbort);
    };
    const offDeadline = stopOn(this.#deadline.signal, () => this.#deadlineError(parts.pool));
    const offBudget = stopOn(parts.payments.signal, () =>
      parts.payments.signal.reason instanceof BudgetExceededError
        ? parts.payments.signal.reason
        : new BudgetExceededError("the budget is exhausted"),
    );
    const offUser = opts.signal
      ? stopOn(
          opts.signal,
          () => new AbortError("the computation was aborted", { cause: opts.signal?.reason }),
        )
      : () => undefined;
    const loop = run.start();
    let failed: Error | undefined;
    try {
      for await (const task of queue.outcomes()) yield task;
    } catch (err) {
      failed = err instanceof Error ? err : new AbortError(String(err));
      throw err;
    } finally {
      offDeadline();
      offBudget();
      offUser();
      if (!queue.finished) await run.stop(new AbortError("the results stopped being read"));
      await loop;
      this.#runs.delete(asRun);
      if (failed ?? queue.closedWith)
        emit({
          type: "computation.failed",
          reason: (failed ?? queue.closedWith)?.message ?? "",
          accepted: queue.accepted,
          rejected: queue.rejected,
        });
      else emit({ type: "computation.finished", accepted: queue.accepted, rejected: queue.rejected });
    }
  }

  /**
   * Stop every run (unfinished tasks end rejected with an AbortError), terminate the agreements
   * (`Success`), close the network. Bounded by `shutdownGraceMs` per stage; safe to call twice.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#doShutdown();
    return this.#shutdown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  #deadlineError(pool: AgreementPool): Error {
    const { timeoutMs, package: pkg, subnetTag } = this.options;
    if (!pool.everAgreed) {
      const refusals = pool.lastRefusals.map((r) => `${r.providerId.slice(0, 8)}…: ${r.reason}`).join("; ");
      return new MarketError(
        `no provider agreed within ${timeoutMs} ms to run ${describePackage(pkg, subnetTag)}; ` +
          `last market round: ${pool.lastProposals} proposal(s)${refusals ? `, refusals: ${refusals}` : ""}`,
      );
    }
    return new TimeoutError(`the computation timed out after ${timeoutMs} ms`);
  }

  #start(): Promise<Parts> {
    if (this.#state === "stopping" || this.#state === "stopped")
      return Promise.reject(new UserError("the executor is shut down"));
    this.#parts ??= this.#connect();
    return this.#parts;
  }

  async #connect(): Promise<Parts> {
    this.#state = "starting";
    const o = this.options;
    const logger = o.logger;
    const store = new ImageStore({});
    if (o.package.source === undefined && !(await store.has(o.package.imageHash)))
      throw new UserError(
        `image ${o.package.imageHash} is not in the image store (${store.root}): build it with ` +
          "`agora image build <recipe>` or give docker.repo({ source }) a URL providers can fetch it from",
      );
    const conn = await o.network.connect({ subnet: o.subnetTag, logger });
    const node = new RequestorNode({
      bus: conn.bus,
      subnet: o.subnetTag,
      imageStore: store,
      images: [o.package.imageHash],
      logger,
    });
    const ledgerDir = await mkdtemp(join(tmpdir(), "agora-requestor-"));
    const late: { pool?: AgreementPool } = {}; // payments terminate through the pool once it exists
    const payments = await PaymentManager.create({
      node: node.node,
      allocation: this.budget,
      terminate: (agreement, termination) =>
        late.pool
          ? late.pool.terminateAgreement(agreement.agreementId, termination)
          : node.market.terminate(agreement, termination, { timeoutMs: 3_000 }),
      ledgerPath: join(ledgerDir, "ledger.jsonl"),
      logger,
    });
    payments.events$.subscribe((e) => this.#hub.emit(e));
    logger.info({ ledger: payments.ledger.path }, "payment ledger");
    await conn.settle();
    const expiresAt = Date.now() + o.timeoutMs;
    const demand = demandFor({
      taskPackage: o.package.taskPackage,
      expiresAt,
      subnet: o.subnetTag,
      minCpuThreads: o.package.minCpuThreads,
      minMemGib: o.package.minMemGib,
      minStorageGib: o.package.minStorageGib,
    });
    const pool = new AgreementPool({
      node,
      demand,
      strategy: o.strategy,
      expiresAt,
      windowMs: o.marketWindowMs,
      expectedProviders: conn.expectedProviders,
      emit: (e) => this.#hub.emit(e),
      logger,
      canAgree: (proposal) => payments.canAfford(proposal.offer.properties),
      onAgreement: (agreement) => payments.open(agreement),
      onAgreementEnd: (agreement) => payments.agreementEnded(agreement.agreementId),
    });
    late.pool = pool;
    // Unref'd: a forgotten shutdown does not keep the process alive just for the deadline.
    this.#deadlineTimer = setTimeout(() => this.#deadline.abort(), o.timeoutMs).unref();
    this.#state = "running";
    this.#hub.emit({
      type: "computation.started",
      network: o.network.description,
      taskPackage: o.package.taskPackage,
    });
    this.#hub.emit({ type: "budget.allocated", amount: o.budget.toString() });
    return { conn, node, pool, payments };
  }

  async #doShutdown(): Promise<void> {
    const before = this.#state;
    this.#state = "stopping";
    clearTimeout(this.#deadlineTimer);
    const grace = this.options.shutdownGraceMs;
    try {
      const reason = new AbortError("the executor is shutting down");
      await settleWithin(Promise.all([...this.#runs].map((r) => r.stop(reason))), grace);
      if (before !== "new" && this.#parts) {
        const parts = await this.#parts.catch(() => undefined);
        if (parts) {
          await settleWithin(parts.pool.close(), grace);
          // Invoices come once agreements end: accept and pay them before leaving.
          // (settle is bounded by its own timeout.)
          const unsettled = await parts.payments.settle({ timeoutMs: grace }).catch(() => undefined);
          const paid = parts.payments.summary();
          this.#hub.emit({
            type: "payment.settled",
            paid: formatAmount(paid.paid),
            unsettled: unsettled?.length ?? paid.providers.reduce((n, p) => n + p.agreements, 0),
          });
          await settleWithin(parts.payments.close(), grace);
          parts.node.close();
          await settleWithin(parts.conn.close(), grace);
        }
      }
    } finally {
      this.#state = "stopped";
      this.#hub.complete();
    }
  }
}

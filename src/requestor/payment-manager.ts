/**
 * The requestor's payments (DESIGN §6, §10). For every agreement it holds part of the budget
 * ahead of the work, reviews each DebitNote and the Invoice against the signed terms (agreed
 * prices, elapsed time × offered threads, monotonic totals) and the budget, answers with a signed
 * Acceptance or Rejection, terminates an agreement whose note it rejects, and pays accepted
 * invoices through the payment driver (recorded in the requestor's ledger, then sent signed).
 *
 * When the budget cannot cover the next slice of work, it signals "no new work" (`signal`),
 * terminates every open agreement (`Cancelled`, budget) and reports `budget.exceeded`; what is
 * held still covers the final invoices, and no path commits beyond the budget (Allocation).
 */
import type { Logger } from "pino";
import { pino } from "pino";
import { Subject, type Observable } from "rxjs";
import { BudgetExceededError, ProtocolError } from "../errors.js";
import {
  numberProperty,
  PROP,
  type Properties,
  type SignedAgreement,
  type Termination,
} from "../market/index.js";
import {
  AcceptancePolicy,
  debitNoteFromWire,
  formatAmount,
  invoiceFromWire,
  Ledger,
  LedgerPaymentDriver,
  LinearPricing,
  paymentSubject,
  paymentToWire,
  sumAmounts,
  ZERO,
  type Allocation,
  type Decimal,
  type Decision,
  type PaymentDriver,
  type Reservation,
  type ToleranceOptions,
} from "../payment/index.js";
import type { NodeId } from "../protocol/index.js";
import type { AnyInbound, AnyOutgoing, SignedNode } from "../transport/index.js";
import type { Subscription } from "../transport/index.js";
import { answerFor, deliverPayment } from "./payment-delivery.js";
import type { PaymentEvent, PaymentSummary, ProviderCost } from "./payment-events.js";

export interface PaymentManagerOptions {
  readonly node: SignedNode;
  /** The budget. */
  readonly allocation: Allocation;
  /** Ends an agreement from the requestor's side (e.g. `MarketClient.terminate`). */
  readonly terminate: (agreement: SignedAgreement, termination: Termination) => Promise<void>;
  /** The requestor's ledger file. @default an in-memory ledger */
  readonly ledgerPath?: string;
  /** @default the `ledger` driver on the ledger */
  readonly driver?: PaymentDriver;
  /** @default silent */
  readonly logger?: Logger;
  /** Clock and meter slack for reviews. @default see ToleranceOptions */
  readonly tolerance?: ToleranceOptions;
  /**
   * Seconds of work each agreement holds ahead in the budget (at full use of its threads).
   * @default twice the agreement's debit-note interval (60 s when it names none) + 5 s
   */
  readonly holdAheadSec?: number;
  /** How long to keep trying to deliver a payment. @default 30_000 */
  readonly paymentTimeoutMs?: number;
}

interface Account {
  readonly agreement: SignedAgreement;
  readonly pricing: LinearPricing;
  readonly threads: number;
  readonly policy: AcceptancePolicy;
  readonly reservation: Reservation;
  /** The hold kept ahead of the work. */
  readonly ahead: Decimal;
  readonly seen: Set<string>;
  terminated: boolean;
  paid: Decimal;
  /** Settles once the accepted invoice and its payment are in the ledger. */
  recorded?: Promise<void>;
  /** Settles once the invoice is paid or rejected. */
  readonly settled: Promise<void>;
  isSettled: boolean;
  settle(): void;
}

export class PaymentManager {
  readonly ledger: Ledger;
  readonly driver: PaymentDriver;
  readonly allocation: Allocation;
  readonly #o: PaymentManagerOptions;
  readonly #node: SignedNode;
  readonly #logger: Logger;
  readonly #accounts = new Map<string, Account>();
  readonly #events = new Subject<PaymentEvent>();
  readonly #exceeded = new AbortController();
  readonly #stop = new AbortController();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #sub: Subscription;
  #closed: Promise<void> | undefined;

  private constructor(opts: PaymentManagerOptions, ledger: Ledger) {
    this.#o = opts;
    this.#node = opts.node;
    this.#logger = (opts.logger ?? pino({ level: "silent" })).child({ component: "payments" });
    this.allocation = opts.allocation;
    this.ledger = ledger;
    this.driver = opts.driver ?? new LedgerPaymentDriver({ ledger, now: () => opts.node.clock.now() });
    this.#sub = this.#node.serve(paymentSubject(this.#node.nodeId), (msg) => this.#onMessage(msg));
  }

  /** Open the ledger and start answering debit notes and invoices. */
  static async create(opts: PaymentManagerOptions): Promise<PaymentManager> {
    const ledger = await Ledger.open(opts.ledgerPath === undefined ? {} : { path: opts.ledgerPath });
    return new PaymentManager(opts, ledger);
  }

  /** Payment and budget events. Completes at `close()`. */
  get events$(): Observable<PaymentEvent> {
    return this.#events.asObservable();
  }

  /** Aborted (with `BudgetExceededError`) once the budget cannot cover more work: start no new work. */
  get signal(): AbortSignal {
    return this.#exceeded.signal;
  }

  get exceeded(): boolean {
    return this.#exceeded.signal.aborted;
  }

  /**
   * What an agreement on this offer holds from the budget when it starts: the start price and
   * `holdAheadSec` of work at full use of the offered threads.
   * @throws PaymentError when the offer has no linear pricing.
   */
  holdFor(offerProperties: Properties): Decimal {
    const pricing = LinearPricing.fromProperties(offerProperties);
    return pricing.start.plus(this.#ahead(pricing, offerProperties));
  }

  /**
   * True while the budget can hold an agreement on this offer (check before proposing one). When it
   * cannot and no agreement is open, no work can ever run: the budget is exceeded.
   */
  canAfford(offerProperties: Properties): boolean {
    if (this.exceeded) return false;
    let hold: Decimal;
    try {
      hold = this.holdFor(offerProperties);
    } catch {
      return false; // not linear pricing: not for us
    }
    if (hold.lte(this.allocation.remaining)) return true;
    if (this.#live() === 0) this.#exceed(hold);
    return false;
  }

  /**
   * Start paying for a signed agreement: hold its first slice of the budget and accept its notes.
   * @throws BudgetExceededError when the budget cannot hold it (the caller cancels the agreement;
   * with no other agreement open the budget is exceeded), PaymentError when its offer has no
   * linear pricing.
   */
  open(agreement: SignedAgreement): void {
    if (this.#accounts.has(agreement.agreementId)) return;
    const props = agreement.offer.properties;
    const pricing = LinearPricing.fromProperties(props);
    const threads = numberProperty(props, PROP.cpuThreads) ?? 1;
    const ctx = { agreementId: agreement.agreementId, providerId: agreement.providerId };
    const interval =
      numberProperty(agreement.demand.properties, PROP.debitNoteIntervalSec) ??
      numberProperty(props, PROP.debitNoteIntervalSec);
    const ahead = this.#ahead(pricing, props, interval);
    const label = { owner: `agreement ${agreement.agreementId}`, ...ctx };
    let refused: BudgetExceededError | undefined;
    let reservation: Reservation;
    try {
      if (this.exceeded) throw new BudgetExceededError("the budget is exhausted: no new agreements", ctx);
      reservation = this.allocation.reserve(pricing.start.plus(ahead), label);
    } catch (err) {
      if (!(err instanceof BudgetExceededError)) throw err;
      if (this.#live() === 0) this.#exceed(pricing.start.plus(ahead));
      // Still answer this agreement's notes and invoice (the caller cancels it): within the budget only.
      refused = err;
      reservation = this.allocation.reserve("0", label);
    }
    let resolveSettled!: () => void;
    const settled = new Promise<void>((resolve) => (resolveSettled = resolve));
    this.#accounts.set(agreement.agreementId, {
      agreement,
      pricing,
      threads,
      policy: new AcceptancePolicy({
        terms: { agreementId: agreement.agreementId, pricing, threads, approvedAt: agreement.approvedAt },
        reservation,
        now: () => this.#node.clock.now(),
        ...(this.#o.tolerance ? { tolerance: this.#o.tolerance } : {}),
      }),
      reservation,
      ahead,
      seen: new Set(),
      terminated: refused !== undefined,
      paid: ZERO,
      settled,
      isSettled: false,
      settle() {
        this.isSettled = true;
        resolveSettled();
      },
    });
    if (refused) throw refused;
  }

  /** The requestor ended the agreement itself (no termination is sent from here again). */
  agreementEnded(agreementId: string): void {
    const account = this.#accounts.get(agreementId);
    if (account) account.terminated = true;
  }

  /**
   * Wait until every opened agreement's invoice is paid or rejected, at most `timeoutMs`.
   * @returns the ids of agreements still unsettled.
   */
  async settle(opts: { readonly timeoutMs: number; readonly signal?: AbortSignal }): Promise<string[]> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, opts.timeoutMs);
      onAbort = () => resolve();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
    });
    const open = [...this.#accounts.values()];
    try {
      await Promise.race([Promise.all(open.map((a) => a.settled)), deadline]);
      await Promise.race([this.#drain(), deadline]);
    } finally {
      clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener("abort", onAbort);
    }
    return open.filter((a) => !a.isSettled).map((a) => a.agreement.agreementId);
  }

  /** Cost per provider and the totals. */
  summary(): PaymentSummary {
    const byProvider = new Map<string, { agreements: number; accepted: Decimal; paid: Decimal }>();
    for (const a of this.#accounts.values()) {
      const p = byProvider.get(a.agreement.providerId) ?? { agreements: 0, accepted: ZERO, paid: ZERO };
      p.agreements += 1;
      p.accepted = p.accepted.plus(a.policy.acceptedTotal);
      p.paid = p.paid.plus(a.paid);
      byProvider.set(a.agreement.providerId, p);
    }
    const providers: ProviderCost[] = [...byProvider].map(([providerId, p]) => ({ providerId, ...p }));
    return {
      providers,
      accepted: sumAmounts(providers.map((p) => p.accepted)),
      paid: sumAmounts(providers.map((p) => p.paid)),
      budget: this.allocation.total,
      spent: this.allocation.spent,
      ledgerPath: this.ledger.path,
    };
  }

  /** Stop answering, stop payment retries, complete `events$`, close the ledger. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#sub.unsubscribe();
      this.#stop.abort();
      await this.#drain();
      this.#events.complete();
      await this.ledger.close();
    })();
    return this.#closed;
  }

  #ahead(pricing: LinearPricing, props: Properties, intervalSec?: number): Decimal {
    const interval = intervalSec ?? numberProperty(props, PROP.debitNoteIntervalSec) ?? 60;
    const sec = this.#o.holdAheadSec ?? 2 * interval + 5;
    const threads = numberProperty(props, PROP.cpuThreads) ?? 1;
    return pricing.perDurationSec.times(sec).plus(pricing.perCpuSec.times(sec).times(threads));
  }

  /** Agreements still open (not terminated). */
  #live(): number {
    let n = 0;
    for (const a of this.#accounts.values()) if (!a.terminated) n++;
    return n;
  }

  #emit(event: PaymentEvent): void {
    this.#events.next(event);
  }

  #track(work: Promise<unknown>): void {
    const tracked = work
      .catch((err: unknown) => this.#logger.error({ err }, "payment work failed"))
      .finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #account(agreementId: string, from: NodeId): Account {
    const account = this.#accounts.get(agreementId);
    if (!account || account.agreement.providerId !== from)
      throw new ProtocolError(`no agreement ${agreementId} with you`);
    return account;
  }

  async #onMessage(msg: AnyInbound): Promise<AnyOutgoing> {
    const env = msg.envelope;
    switch (env.type) {
      case "DebitNote": {
        const { paymentDueAt: _due, ...wire } = env.body;
        const note = debitNoteFromWire(wire);
        const account = this.#account(note.agreementId, env.from);
        const decision = account.policy.reviewDebitNote(note);
        if (!account.seen.has(note.debitNoteId)) {
          account.seen.add(note.debitNoteId);
          this.#afterNote(account, formatAmount(note.totalAmount), decision);
        }
        return answerFor("DebitNote", note.debitNoteId, note.agreementId, decision, note.totalAmount);
      }
      case "Invoice": {
        const { paymentDueAt: _due, ...wire } = env.body;
        const invoice = invoiceFromWire(wire);
        const account = this.#account(invoice.agreementId, env.from);
        const decision = account.policy.reviewInvoice(invoice);
        if (!account.seen.has(invoice.invoiceId)) {
          account.seen.add(invoice.invoiceId);
          const ids = { agreementId: invoice.agreementId, providerId: env.from };
          const amount = formatAmount(invoice.amount);
          this.#emit({ type: "payment.invoice_received", ...ids, amount });
          if (decision.accept) {
            let recorded!: () => void;
            account.recorded = new Promise<void>((resolve) => (recorded = resolve));
            this.#track(this.#pay(account, invoice.invoiceId, invoice.amount, recorded));
          } else {
            this.#logger.warn({ ...ids, amount, reason: decision.reason }, "invoice rejected");
            this.#emit({ type: "payment.invoice_rejected", ...ids, amount, reason: decision.reason });
            account.reservation.release();
            account.settle();
          }
        }
        // The ledger holds the accepted invoice and its payment (fsync'ed) before the acceptance goes out.
        if (decision.accept) await account.recorded;
        return answerFor("Invoice", invoice.invoiceId, invoice.agreementId, decision, invoice.amount);
      }
      default:
        throw new ProtocolError(`unexpected ${env.type} on the payment subject`);
    }
  }

  #afterNote(account: Account, amount: string, decision: Decision): void {
    const { agreementId, providerId } = account.agreement;
    if (decision.accept) {
      this.#emit({ type: "payment.debit_note_accepted", agreementId, providerId, amount });
      this.#holdAhead(account);
      return;
    }
    this.#logger.warn({ agreementId, amount, reason: decision.reason }, "debit note rejected");
    this.#emit({
      type: "payment.debit_note_rejected",
      agreementId,
      providerId,
      amount,
      reason: decision.reason,
    });
    if (decision.overBudget) {
      this.#exceed(undefined);
    } else {
      this.#terminate(account, { reason: "DebitNoteRejected", message: decision.reason });
    }
  }

  /** Keep `ahead` held for the agreement's next slice of work; when the budget cannot, it is exceeded. */
  #holdAhead(account: Account): void {
    if (account.reservation.released || account.terminated) return;
    const missing = account.ahead.minus(account.reservation.held);
    if (!missing.isPositive()) return;
    try {
      account.reservation.grow(missing);
    } catch (err) {
      if (!(err instanceof BudgetExceededError)) throw err;
      this.#exceed(missing);
    }
  }

  /** No new work; terminate every open agreement (`Cancelled`, budget). Once. */
  #exceed(needed: Decimal | undefined): void {
    if (this.exceeded) return;
    const remaining = this.allocation.remaining;
    const message = `budget exhausted: ${formatAmount(this.allocation.spent)} of ${formatAmount(this.allocation.total)} spent`;
    this.#logger.warn(
      { needed: needed && formatAmount(needed), remaining: formatAmount(remaining) },
      message,
    );
    this.#exceeded.abort(new BudgetExceededError(message));
    this.#emit({
      type: "budget.exceeded",
      needed: formatAmount(needed ?? ZERO),
      remaining: formatAmount(remaining),
    });
    for (const account of this.#accounts.values()) this.#terminate(account, { reason: "Cancelled", message });
  }

  #terminate(account: Account, termination: Termination): void {
    if (account.terminated || account.isSettled) return;
    account.terminated = true;
    this.#track(
      this.#o
        .terminate(account.agreement, termination)
        .catch((err: unknown) =>
          this.#logger.debug(
            { err, agreementId: account.agreement.agreementId },
            "terminating the agreement failed (the provider ends it too)",
          ),
        ),
    );
  }

  /** Pay an accepted invoice: the driver records it, then the signed Payment goes to the provider. */
  async #pay(account: Account, invoiceId: string, amount: Decimal, recorded: () => void): Promise<void> {
    const { agreementId, providerId } = account.agreement;
    const ids = { agreementId, providerId };
    try {
      const payment = await this.driver
        .pay(
          { agreementId, invoiceId, payer: this.#node.nodeId, payee: providerId, amount },
          { signal: this.#stop.signal },
        )
        .finally(recorded);
      account.paid = payment.amount;
      await deliverPayment(this.#node, providerId, paymentToWire(payment), {
        timeoutMs: this.#o.paymentTimeoutMs ?? 30_000,
        signal: this.#stop.signal,
      });
      this.#emit({ type: "payment.sent", ...ids, amount: formatAmount(payment.amount) });
      this.#logger.info({ ...ids, amount: formatAmount(payment.amount) }, "invoice paid");
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.#logger.warn({ ...ids, err }, "paying the invoice failed");
      this.#emit({ type: "payment.failed", ...ids, amount: formatAmount(amount), reason });
    } finally {
      account.reservation.release();
      account.settle();
    }
  }
}

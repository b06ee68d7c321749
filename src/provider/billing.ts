/**
 * The provider's billing (DESIGN §8, §10): a usage meter per activity (the runtime's CPU and wall
 * seconds), a signed DebitNote with the running total every negotiated interval, termination of
 * the agreement when a note is rejected (`DebitNoteRejected`) or not accepted in time
 * (`DebitNotesDeadline`), one Invoice when the agreement ends (for any reason, with the final
 * usage), and the payments of accepted invoices checked and recorded in the provider's ledger.
 */
import type { Logger } from "pino";
import { PaymentError, ProtocolError } from "../errors.js";
import { numberProperty, PROP, type TerminationReason } from "../market/index.js";
import {
  AgreementBilling,
  debitNoteToWire,
  formatAmount,
  invoiceToWire,
  LinearPricing,
  paymentFromWire,
  paymentSubject,
  usageFromSeconds,
  type DebitNote,
  type Invoice,
  type PaymentDriver,
  type PaymentOrder,
  type Usage,
} from "../payment/index.js";
import type { AnyInbound, AnyOutgoing, SignedNode, Subscription } from "../transport/index.js";
import type { AgreementRecord } from "./agreements.js";
import { deliverDocument, type DeliveryOutcome } from "./billing-delivery.js";
import type { ContainerRuntime } from "./runtime/index.js";

/** Test-only: alter what is billed, to play a provider that overcharges. */
export interface BillingTamper {
  readonly debitNote?: (note: DebitNote) => DebitNote;
  readonly invoice?: (invoice: Invoice) => Invoice;
}

/** What billing needs to know of an activity. */
export interface MeteredActivity {
  readonly id: string;
  /** The container while it runs; not metered before. */
  readonly runningContainer: string | undefined;
}

export interface BillingServiceOptions {
  readonly node: SignedNode;
  readonly runtime: Pick<ContainerRuntime, "usage">;
  /** Checks and records payments (the provider's ledger). */
  readonly driver: PaymentDriver;
  readonly logger: Logger;
  /** The live activities of an agreement. */
  readonly activitiesOf: (agreementId: string) => readonly MeteredActivity[];
  /** End an agreement from this side: the requestor is told and its work stops. */
  readonly terminate: (record: AgreementRecord, reason: TerminationReason, message: string) => Promise<void>;
  /** Used when the agreement names none (the preset's defaults). */
  readonly defaults: { readonly debitNoteIntervalSec: number; readonly paymentAcceptTimeoutSec: number };
  /** Test-only overcharging. @default none */
  readonly tamper?: BillingTamper;
  /** Longest wait for one usage reading. @default 5_000 */
  readonly usageTimeoutMs?: number;
}

interface Account {
  readonly record: AgreementRecord;
  readonly billing: AgreementBilling;
  readonly intervalMs: number;
  readonly acceptTimeoutMs: number;
  timer: NodeJS.Timeout | undefined;
  /** The meter: last reading per activity ever started (monotonic). */
  readonly usage: Map<string, Usage>;
  /** Activities with a note awaiting an answer. */
  readonly inFlight: Set<string>;
  ended: boolean;
  /** The invoice's payment order, once issued; `paid` settles when the payment is recorded. */
  invoice?: { readonly order: PaymentOrder; readonly paid: Deferred };
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  done: boolean;
}

/** Ended agreements remembered for their payments. */
const MAX_ENDED_ACCOUNTS = 1000;

export class BillingService {
  readonly #o: BillingServiceOptions;
  readonly #accounts = new Map<string, Account>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #stop = new AbortController();
  #sub: Subscription | undefined;

  constructor(opts: BillingServiceOptions) {
    this.#o = opts;
  }

  start(): void {
    const { node } = this.#o;
    this.#sub = node.serve(paymentSubject(node.nodeId), (msg) => this.#onMessage(msg));
  }

  /** An agreement was approved: open its bill and start the debit-note timer. */
  agreementApproved(record: AgreementRecord): void {
    const { agreement } = record;
    const negotiated = (key: string): number | undefined =>
      numberProperty(agreement.demand.properties, key) ?? numberProperty(agreement.offer.properties, key);
    const intervalSec = negotiated(PROP.debitNoteIntervalSec) ?? this.#o.defaults.debitNoteIntervalSec;
    const acceptSec = negotiated(PROP.paymentAcceptTimeoutSec) ?? this.#o.defaults.paymentAcceptTimeoutSec;
    const account: Account = {
      record,
      billing: new AgreementBilling({
        agreementId: agreement.agreementId,
        pricing: LinearPricing.fromProperties(agreement.offer.properties),
      }),
      intervalMs: Math.max(0.01, intervalSec) * 1000,
      acceptTimeoutMs: Math.max(0.01, acceptSec) * 1000,
      timer: undefined,
      usage: new Map(),
      inFlight: new Set(),
      ended: false,
    };
    this.#accounts.set(agreement.agreementId, account);
    this.#pruneAccounts();
    if (this.#stop.signal.aborted) return;
    account.timer = setInterval(() => this.#track(this.#tick(account)), account.intervalMs).unref();
  }

  /** A started container is about to be removed: take its final reading. Never throws. */
  async finalReading(agreementId: string, activityId: string, containerId: string): Promise<void> {
    const account = this.#accounts.get(agreementId);
    if (account) await this.#read(account, activityId, containerId);
  }

  /**
   * The agreement ended (its activities are destroyed): issue its one invoice with the final
   * usage and deliver it; the payment is awaited in the background (see `drain`).
   */
  agreementEnded(record: AgreementRecord): void {
    const account = this.#accounts.get(record.agreement.agreementId);
    if (!account || account.ended) return;
    account.ended = true;
    clearInterval(account.timer);
    account.timer = undefined;
    this.#track(this.#invoice(account));
  }

  /** Wait for every delivery in progress and every awaited payment. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Stop timers and deliveries, stop serving payments. Safe to call twice. */
  close(): void {
    this.#stop.abort();
    for (const a of this.#accounts.values()) {
      clearInterval(a.timer);
      a.timer = undefined;
    }
    this.#sub?.unsubscribe();
  }

  #track(work: Promise<unknown>): void {
    const tracked = work
      .catch((err: unknown) => this.#o.logger.error({ err }, "billing failed"))
      .finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  async #tick(account: Account): Promise<void> {
    const { agreementId } = account.record.agreement;
    const running = this.#o.activitiesOf(agreementId).filter((a) => a.runningContainer !== undefined);
    await Promise.all(
      running.map(async (activity) => {
        if (account.inFlight.has(activity.id) || account.ended) return;
        account.inFlight.add(activity.id);
        try {
          const usage = await this.#read(account, activity.id, activity.runningContainer!);
          if (!usage || account.ended || account.record.state !== "approved") return;
          const note = account.billing.debitNote(activity.id, usage, this.#o.node.clock.now());
          await this.#sendNote(account, this.#o.tamper?.debitNote?.(note) ?? note);
        } finally {
          account.inFlight.delete(activity.id);
        }
      }),
    );
  }

  async #sendNote(account: Account, note: DebitNote): Promise<void> {
    const { record } = account;
    const { agreementId, requestorId } = record.agreement;
    const log = this.#o.logger.child({ agreementId, activityId: note.activityId });
    const deadline = note.issuedAt + account.acceptTimeoutMs;
    log.debug({ sequence: note.sequence, total: formatAmount(note.totalAmount) }, "sending a debit note");
    const outcome = await deliverDocument({
      node: this.#o.node,
      to: requestorId,
      message: { type: "DebitNote", body: { ...debitNoteToWire(note), paymentDueAt: deadline } },
      documentId: note.debitNoteId,
      deadline,
      signal: this.#stop.signal,
    });
    switch (outcome.kind) {
      case "accepted":
        log.debug({ sequence: note.sequence }, "debit note accepted");
        return;
      case "rejected":
        log.warn({ sequence: note.sequence, reason: outcome.reason }, "debit note rejected");
        await this.#o.terminate(
          record,
          "DebitNoteRejected",
          `debit note ${note.sequence} of activity ${note.activityId} was rejected: ${outcome.reason}`,
        );
        return;
      case "deadline":
        log.warn(
          { sequence: note.sequence, lastError: outcome.lastError },
          "debit note not accepted in time",
        );
        await this.#o.terminate(
          record,
          "DebitNotesDeadline",
          `debit note ${note.sequence} of activity ${note.activityId} was not accepted within ${account.acceptTimeoutMs / 1000} s`,
        );
        return;
      case "unreachable":
      case "aborted":
        return;
    }
  }

  async #invoice(account: Account): Promise<void> {
    const { agreementId, requestorId } = account.record.agreement;
    const log = this.#o.logger.child({ agreementId });
    let invoice: Invoice;
    try {
      invoice = account.billing.issueInvoice(account.usage, this.#o.node.clock.now());
    } catch (err) {
      log.warn({ err }, "no invoice issued");
      return;
    }
    invoice = this.#o.tamper?.invoice?.(invoice) ?? invoice;
    const paid = deferred();
    account.invoice = {
      order: {
        agreementId,
        invoiceId: invoice.invoiceId,
        payer: requestorId,
        payee: this.#o.node.nodeId,
        amount: invoice.amount,
      },
      paid,
    };
    const deadline = invoice.issuedAt + account.acceptTimeoutMs;
    const outcome: DeliveryOutcome = await deliverDocument({
      node: this.#o.node,
      to: requestorId,
      message: { type: "Invoice", body: { ...invoiceToWire(invoice), paymentDueAt: deadline } },
      documentId: invoice.invoiceId,
      deadline,
      signal: this.#stop.signal,
      maxUnreachable: 4, // a requestor that serves no payments: give up after ~2 s, not at the deadline
    });
    const amount = formatAmount(invoice.amount);
    if (outcome.kind !== "accepted") {
      if (outcome.kind !== "aborted") log.warn({ amount, outcome }, "the invoice was not accepted");
      return;
    }
    log.info({ amount }, "invoice accepted");
    if (paid.done) return;
    // Await the payment, bounded by the same timeout (or until the service stops).
    const timer = setTimeout(() => paid.resolve(), account.acceptTimeoutMs);
    const onStop = (): void => paid.resolve();
    this.#stop.signal.addEventListener("abort", onStop, { once: true });
    try {
      await paid.promise;
    } finally {
      clearTimeout(timer);
      this.#stop.signal.removeEventListener("abort", onStop);
    }
  }

  /** The meter: read an activity's usage (monotonic per activity), or undefined when it fails. */
  async #read(account: Account, activityId: string, containerId: string): Promise<Usage | undefined> {
    const timeoutMs = this.#o.usageTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const raw = await Promise.race([
        this.#o.runtime.usage(containerId),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new PaymentError(`reading the usage took over ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      const read = usageFromSeconds(millis(raw.durationSec), millis(raw.cpuSec));
      const before = account.usage.get(activityId);
      const usage = before
        ? {
            durationSec: read.durationSec.gt(before.durationSec) ? read.durationSec : before.durationSec,
            cpuSec: read.cpuSec.gt(before.cpuSec) ? read.cpuSec : before.cpuSec,
          }
        : read;
      account.usage.set(activityId, usage);
      return usage;
    } catch (err) {
      this.#o.logger.warn({ err, activityId }, "reading the usage failed");
      return account.usage.get(activityId);
    } finally {
      clearTimeout(timer);
    }
  }

  async #onMessage(msg: AnyInbound): Promise<AnyOutgoing> {
    if (msg.envelope.type !== "Payment")
      throw new ProtocolError(`unexpected ${msg.envelope.type} on the payment subject`);
    const payment = paymentFromWire(msg.envelope.body);
    const account = this.#accounts.get(payment.agreementId);
    if (!account || account.record.agreement.requestorId !== msg.envelope.from)
      throw new PaymentError(`no agreement ${payment.agreementId} with you`);
    const invoice = account.invoice;
    if (!invoice || invoice.order.invoiceId !== payment.invoiceId)
      throw new PaymentError(
        `payment ${payment.paymentId}: agreement ${payment.agreementId} has no invoice ${payment.invoiceId}`,
      );
    await this.#o.driver.receive(payment, invoice.order);
    this.#o.logger.info(
      { agreementId: payment.agreementId, amount: formatAmount(payment.amount) },
      "payment received",
    );
    invoice.paid.resolve();
    return { type: "Ack", body: {} };
  }

  #pruneAccounts(): void {
    const ended = [...this.#accounts.values()].filter((a) => a.ended && (a.invoice?.paid.done ?? true));
    for (const a of ended.slice(0, Math.max(0, ended.length - MAX_ENDED_ACCOUNTS)))
      this.#accounts.delete(a.record.agreement.agreementId);
  }
}

/** Seconds rounded down to the millisecond (tidy amounts, never more than measured). */
function millis(sec: number): number {
  return Number.isFinite(sec) && sec > 0 ? Math.floor(sec * 1000) / 1000 : 0;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const d: Deferred = {
    promise,
    resolve: () => {
      d.done = true;
      resolve();
    },
    done: false,
  };
  return d;
}

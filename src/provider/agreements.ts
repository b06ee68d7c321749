/**
 * The agreements a provider has approved: in force until terminated (by either side, on expiry,
 * on idleness or at shutdown). Idle = no live activity for `idleTimeoutMs` → `NoActivity`.
 */
import type { SignedAgreement, TerminationReason } from "../market/index.js";

export interface AgreementRecord {
  readonly agreement: SignedAgreement;
  state: "approved" | "terminated";
  termination?: { readonly reason: TerminationReason; readonly message?: string };
  /** Live (not destroyed) activities. */
  readonly activities: Set<string>;
  idleTimer: NodeJS.Timeout | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
}

export interface AgreementRegistryOptions {
  readonly idleTimeoutMs: number;
  /** Milliseconds until `at` (epoch ms); the injected clock's view. */
  readonly msUntil: (at: number) => number;
  /** Called when an agreement is approved (added). */
  readonly onAdded?: (record: AgreementRecord) => void;
  /** Called when a timer ends an agreement (the registry already marked it terminated). */
  readonly onTimeout: (record: AgreementRecord, reason: TerminationReason, message: string) => void;
}

/** Longest delay setTimeout takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class AgreementRegistry {
  readonly #records = new Map<string, AgreementRecord>();
  readonly #opts: AgreementRegistryOptions;

  constructor(opts: AgreementRegistryOptions) {
    this.#opts = opts;
  }

  /** Agreements in force. */
  get active(): number {
    let n = 0;
    for (const r of this.#records.values()) if (r.state === "approved") n++;
    return n;
  }

  get(agreementId: string): AgreementRecord | undefined {
    return this.#records.get(agreementId);
  }

  /** Every agreement in force. */
  inForce(): AgreementRecord[] {
    return [...this.#records.values()].filter((r) => r.state === "approved");
  }

  add(agreement: SignedAgreement): AgreementRecord {
    const record: AgreementRecord = {
      agreement,
      state: "approved",
      activities: new Set(),
      idleTimer: undefined,
      expiryTimer: undefined,
    };
    this.#records.set(agreement.agreementId, record);
    const untilExpiry = Math.min(MAX_TIMER_MS, Math.max(0, this.#opts.msUntil(agreement.expiresAt)));
    record.expiryTimer = setTimeout(
      () => this.#fire(record, "Expired", "the agreement reached its expiration"),
      untilExpiry,
    ).unref();
    this.#armIdle(record);
    this.#opts.onAdded?.(record);
    return record;
  }

  /** An activity started: the agreement is not idle. */
  activityCreated(record: AgreementRecord, activityId: string): void {
    record.activities.add(activityId);
    clearTimeout(record.idleTimer);
    record.idleTimer = undefined;
  }

  /** An activity ended: when it was the last, the idle clock starts. */
  activityEnded(record: AgreementRecord, activityId: string): void {
    record.activities.delete(activityId);
    if (record.state === "approved" && record.activities.size === 0) this.#armIdle(record);
  }

  /** Mark terminated and stop its timers; false when it already was. */
  terminate(record: AgreementRecord, reason: TerminationReason, message?: string): boolean {
    if (record.state === "terminated") return false;
    record.state = "terminated";
    record.termination = message === undefined ? { reason } : { reason, message };
    clearTimeout(record.idleTimer);
    clearTimeout(record.expiryTimer);
    return true;
  }

  /** Drop terminated records beyond the newest `keep` (bounded memory). */
  prune(keep = 1000): void {
    const done = [...this.#records.values()].filter((r) => r.state === "terminated");
    for (const r of done.slice(0, Math.max(0, done.length - keep))) {
      this.#records.delete(r.agreement.agreementId);
    }
  }

  #armIdle(record: AgreementRecord): void {
    clearTimeout(record.idleTimer);
    const ms = this.#opts.idleTimeoutMs;
    record.idleTimer = setTimeout(
      () =>
        this.#fire(
          record,
          "NoActivity",
          `no activity for ${ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`}`,
        ),
      ms,
    ).unref();
  }

  #fire(record: AgreementRecord, reason: TerminationReason, message: string): void {
    if (reason === "NoActivity" && record.activities.size > 0) return;
    if (this.terminate(record, reason, message)) this.#opts.onTimeout(record, reason, message);
  }
}

/**
 * The budget (DESIGN §10). An `Allocation` holds a total; callers `reserve` part of it, `commit`
 * (spend) from their reservation and `release` what they did not spend. `reserved + spent` never
 * exceeds `total`: a reservation or commit that would cross it is refused with
 * `BudgetExceededError` and changes nothing.
 *
 * Every method is synchronous, so each check-and-update is atomic with respect to other async
 * callers of the same allocation: interleaved providers can never overspend it together.
 */
import type { Decimal } from "decimal.js";
import { BudgetExceededError, PaymentError, type ErrorContext } from "../errors.js";
import { formatAmount, parseAmount, ZERO, type MoneyInput } from "./money.js";

/** The numbers of an allocation at one moment. */
export interface AllocationSnapshot {
  readonly total: Decimal;
  /** Held by open reservations, not yet spent. */
  readonly reserved: Decimal;
  /** Committed (accepted debt or paid). */
  readonly spent: Decimal;
  /** `total − reserved − spent`: what a new reservation may take. */
  readonly remaining: Decimal;
}

/** Who a reservation is for; used in error messages and error context. */
export interface ReservationLabel extends ErrorContext {
  /** A short name for messages, e.g. `agreement a1`. @default "reservation" */
  readonly owner?: string;
}

interface Pool {
  take(amount: Decimal, what: string, ctx: ErrorContext): void;
  give(amount: Decimal): void;
  spend(amount: Decimal): void;
  remaining(): Decimal;
}

/** A part of an allocation held for one owner (typically one agreement). */
export class Reservation {
  readonly owner: string;
  readonly context: ErrorContext;
  #held: Decimal;
  #spent: Decimal = ZERO;
  #released = false;
  readonly #pool: Pool;

  /** @internal Created by `Allocation.reserve`. */
  constructor(pool: Pool, held: Decimal, label: ReservationLabel) {
    this.#pool = pool;
    this.#held = held;
    const { owner, ...context } = label;
    this.owner = owner ?? "reservation";
    this.context = context;
  }

  /** Held and not yet spent. */
  get held(): Decimal {
    return this.#held;
  }

  /** Spent through this reservation so far. */
  get spent(): Decimal {
    return this.#spent;
  }

  get released(): boolean {
    return this.#released;
  }

  /**
   * Hold `amount` more.
   * @throws BudgetExceededError if the allocation has less than `amount` remaining (nothing changes).
   */
  grow(amount: MoneyInput): void {
    this.#assertOpen();
    const a = parseAmount(amount, "reservation increase");
    this.#pool.take(a, `growing ${this.owner} by ${formatAmount(a)}`, this.context);
    this.#held = this.#held.plus(a);
  }

  /** What `commit` could spend right now: the hold plus the allocation's remaining budget (0 once released). */
  get available(): Decimal {
    return this.#released ? ZERO : this.#held.plus(this.#pool.remaining());
  }

  /**
   * Spend `amount`: first from the hold, the rest from the allocation's remaining budget.
   * @throws BudgetExceededError if hold + remaining < amount (nothing changes).
   * @throws PaymentError if the reservation was released.
   */
  commit(amount: MoneyInput): void {
    this.#assertOpen();
    const a = parseAmount(amount, "commit amount");
    if (a.gt(this.#held)) {
      const extra = a.minus(this.#held);
      this.#pool.take(extra, `committing ${formatAmount(a)} for ${this.owner}`, this.context);
      this.#held = this.#held.plus(extra);
    }
    this.#held = this.#held.minus(a);
    this.#pool.spend(a);
    this.#spent = this.#spent.plus(a);
  }

  /** Return the unspent hold to the allocation. Safe to call twice. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#pool.give(this.#held);
    this.#held = ZERO;
  }

  #assertOpen(): void {
    if (this.#released) throw new PaymentError(`${this.owner}: reservation already released`, this.context);
  }
}

/** A budget, e.g. the requestor's `budget: "10.0"`. */
export class Allocation {
  readonly total: Decimal;
  #reserved: Decimal = ZERO;
  #spent: Decimal = ZERO;
  readonly #pool: Pool;

  /** @throws PaymentError if `total` is not a non-negative decimal. */
  constructor(total: MoneyInput) {
    this.total = parseAmount(total, "budget");
    this.#pool = {
      take: (amount, what, ctx) => {
        const remaining = this.remaining;
        if (amount.gt(remaining)) {
          throw new BudgetExceededError(
            `budget exceeded: ${what} needs ${formatAmount(amount)}, only ${formatAmount(remaining)} of ${formatAmount(this.total)} remains`,
            ctx,
          );
        }
        this.#reserved = this.#reserved.plus(amount);
      },
      give: (amount) => {
        this.#reserved = this.#reserved.minus(amount);
      },
      spend: (amount) => {
        this.#reserved = this.#reserved.minus(amount);
        this.#spent = this.#spent.plus(amount);
      },
      remaining: () => this.remaining,
    };
  }

  get reserved(): Decimal {
    return this.#reserved;
  }

  get spent(): Decimal {
    return this.#spent;
  }

  get remaining(): Decimal {
    return this.total.minus(this.#reserved).minus(this.#spent);
  }

  snapshot(): AllocationSnapshot {
    return { total: this.total, reserved: this.#reserved, spent: this.#spent, remaining: this.remaining };
  }

  /**
   * Hold `amount` (may be zero) for one owner.
   * @throws BudgetExceededError if less than `amount` remains (nothing changes).
   */
  reserve(amount: MoneyInput, label: ReservationLabel = {}): Reservation {
    const a = parseAmount(amount, "reservation");
    const { owner, ...ctx } = label;
    this.#pool.take(a, `reserving ${formatAmount(a)} for ${owner ?? "reservation"}`, ctx);
    return new Reservation(this.#pool, a, label);
  }

  /** Like `reserve`, but returns `undefined` instead of throwing when the budget is short. */
  tryReserve(amount: MoneyInput, label: ReservationLabel = {}): Reservation | undefined {
    const a = parseAmount(amount, "reservation");
    return a.gt(this.remaining) ? undefined : this.reserve(a, label);
  }
}

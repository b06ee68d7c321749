/**
 * The Executor's events: one discriminated union named `<domain>.<what happened>`, carrying the ids
 * and amounts they concern. Published on an rxjs Observable (`executor.events$`); the Subject stays
 * inside `EventHub`.
 */
import type { Logger } from "pino";
import { Subject, type Observable } from "rxjs";
import type { PaymentEvent } from "./payment-events.js";

export type ExecutorEvent =
  // computation
  | { readonly type: "computation.started"; readonly network: string; readonly taskPackage: string }
  | { readonly type: "computation.finished"; readonly accepted: number; readonly rejected: number }
  | {
      readonly type: "computation.failed";
      readonly reason: string;
      readonly accepted: number;
      readonly rejected: number;
    }
  // market
  | { readonly type: "market.demand_published"; readonly demandId: string; readonly subnet: string }
  | {
      readonly type: "market.proposals_collected";
      readonly demandId: string;
      readonly proposals: number;
      readonly refusals: number;
    }
  | { readonly type: "market.proposal_rejected"; readonly providerId: string; readonly reason: string }
  // agreement
  | {
      readonly type: "agreement.created";
      readonly agreementId: string;
      readonly providerId: string;
      readonly providerName: string;
    }
  | {
      readonly type: "agreement.terminated";
      readonly agreementId: string;
      readonly providerId: string;
      readonly reason: string;
      readonly by: "requestor" | "provider";
    }
  // activity
  | {
      readonly type: "activity.created";
      readonly activityId: string;
      readonly agreementId: string;
      readonly providerId: string;
    }
  | {
      readonly type: "activity.destroyed";
      readonly activityId: string;
      readonly agreementId: string;
      readonly providerId: string;
    }
  | {
      readonly type: "activity.failed";
      readonly activityId: string | undefined;
      readonly agreementId: string;
      readonly providerId: string;
      readonly reason: string;
    }
  // batch
  | {
      readonly type: "batch.sent";
      readonly batchNo: number;
      readonly activityId: string;
      readonly providerId: string;
      readonly taskId: string | undefined;
      readonly commands: number;
    }
  | {
      readonly type: "batch.finished";
      readonly batchNo: number;
      readonly activityId: string;
      readonly providerId: string;
      readonly taskId: string | undefined;
      readonly ok: boolean;
      readonly durationMs: number;
    }
  | {
      readonly type: "batch.failed";
      readonly batchNo: number;
      readonly activityId: string;
      readonly providerId: string;
      readonly taskId: string | undefined;
      readonly reason: string;
    }
  // command
  | {
      readonly type: "command.started";
      readonly activityId: string;
      readonly providerId: string;
      readonly index: number;
      readonly command: string;
    }
  | {
      readonly type: "command.finished";
      readonly activityId: string;
      readonly providerId: string;
      readonly index: number;
      readonly exitCode: number;
    }
  // task
  | { readonly type: "task.submitted"; readonly taskId: string }
  | {
      readonly type: "task.started";
      readonly taskId: string;
      readonly providerId: string;
      readonly attempt: number;
    }
  | {
      readonly type: "task.accepted";
      readonly taskId: string;
      readonly providerId: string;
      readonly runningTimeMs: number;
    }
  | {
      readonly type: "task.retried";
      readonly taskId: string;
      readonly providerId: string;
      readonly attempt: number;
      readonly reason: string;
    }
  | {
      readonly type: "task.rejected";
      readonly taskId: string;
      readonly providerId: string | undefined;
      readonly reason: string;
    }
  // payment and budget (from the PaymentManager; amounts are decimal strings)
  | PaymentEvent
  | { readonly type: "budget.allocated"; readonly amount: string };

export type ExecutorEventType = ExecutorEvent["type"];

/** A consumer of events (see `logSummary()`); it is called synchronously, in order. */
export type EventConsumer = (event: ExecutorEvent) => void;

/** Holds the Subject; hands out only the Observable. */
export class EventHub {
  readonly #subject = new Subject<ExecutorEvent>();
  readonly #consumers: EventConsumer[] = [];
  readonly #logger: Logger;
  readonly events$: Observable<ExecutorEvent>;

  constructor(logger: Logger, consumer?: EventConsumer) {
    this.#logger = logger;
    this.events$ = this.#subject.asObservable();
    if (consumer) this.#consumers.push(consumer);
  }

  emit(event: ExecutorEvent): void {
    for (const c of this.#consumers) {
      try {
        c(event);
      } catch (err) {
        this.#logger.warn({ err, type: event.type }, "an event consumer threw");
      }
    }
    this.#subject.next(event);
  }

  complete(): void {
    this.#subject.complete();
  }
}

/**
 * `logSummary()`: an event consumer that prints a line for what matters during the run (agreements,
 * retries, rejections, failures), a headline when a computation ends and, once the executor has
 * settled its payments at shutdown (invoices come when agreements end), a table per provider: tasks
 * computed and failed, agreements, total time and total cost paid.
 */
import { money, ZERO, type Decimal } from "../payment/index.js";
import type { EventConsumer, ExecutorEvent } from "./events.js";

export interface LogSummaryOptions {
  /** Where lines go. @default process.stderr */
  readonly write?: (line: string) => void;
  /** Also print every accepted task. @default false */
  readonly verbose?: boolean;
}

interface ProviderStats {
  name: string;
  computed: number;
  failed: number;
  agreements: number;
  cost: Decimal;
  taskMs: number;
}

/** A consumer for `new Executor({ eventConsumer: logSummary() })`. */
export function logSummary(opts: LogSummaryOptions = {}): EventConsumer {
  const write = opts.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const providers = new Map<string, ProviderStats>();
  let started = performance.now();
  const stats = (providerId: string): ProviderStats => {
    let s = providers.get(providerId);
    if (!s) {
      s = { name: providerId.slice(0, 8), computed: 0, failed: 0, agreements: 0, cost: ZERO, taskMs: 0 };
      providers.set(providerId, s);
    }
    return s;
  };
  let secs = "0.0";
  const headline = (line: string): void => {
    secs = ((performance.now() - started) / 1000).toFixed(1);
    write(`${line} in ${secs} s`);
  };
  const table = (unsettled: number): void => {
    write(`summary: ${secs} s of computation`);
    let total = ZERO;
    for (const [id, s] of providers) {
      total = total.plus(s.cost);
      write(
        `  ${s.name} (${id.slice(0, 12)}…): ${s.computed} task(s) computed, ${s.failed} failed, ` +
          `${s.agreements} agreement(s), ${(s.taskMs / 1000).toFixed(1)} s of tasks, cost ${s.cost.toString()}`,
      );
    }
    write(
      `  total cost ${total.toString()}` + (unsettled > 0 ? ` (${unsettled} agreement(s) not settled)` : ""),
    );
  };
  return (e: ExecutorEvent) => {
    switch (e.type) {
      case "computation.started":
        started = performance.now();
        write(`computation started on ${e.network}: ${e.taskPackage}`);
        break;
      case "agreement.created":
        stats(e.providerId).name = e.providerName;
        stats(e.providerId).agreements++;
        write(`agreement with ${e.providerName} (${e.agreementId.slice(0, 8)})`);
        break;
      case "agreement.terminated":
        if (e.by === "provider") write(`${stats(e.providerId).name} terminated its agreement: ${e.reason}`);
        break;
      case "activity.failed":
        write(`activity on ${stats(e.providerId).name} failed: ${e.reason}`);
        break;
      case "task.accepted": {
        const s = stats(e.providerId);
        s.computed++;
        s.taskMs += e.runningTimeMs;
        if (opts.verbose)
          write(`task ${e.taskId.slice(0, 8)} accepted from ${s.name} (${e.runningTimeMs} ms)`);
        break;
      }
      case "task.retried":
        stats(e.providerId).failed++;
        write(`task ${e.taskId.slice(0, 8)} failed on ${stats(e.providerId).name}, retrying: ${e.reason}`);
        break;
      case "task.rejected":
        if (e.providerId !== undefined) stats(e.providerId).failed++;
        write(`task ${e.taskId.slice(0, 8)} rejected: ${e.reason}`);
        break;
      case "payment.sent":
        stats(e.providerId).cost = stats(e.providerId).cost.plus(money(e.amount));
        break;
      case "budget.exceeded":
        write(`budget exceeded: needed ${e.needed}, ${e.remaining} remaining`);
        break;
      case "computation.finished":
        headline(`computation finished: ${e.accepted} accepted, ${e.rejected} rejected`);
        break;
      case "computation.failed":
        headline(`computation failed (${e.reason}): ${e.accepted} accepted, ${e.rejected} rejected`);
        break;
      case "payment.settled":
        table(e.unsettled);
        break;
      default:
        break;
    }
  };
}

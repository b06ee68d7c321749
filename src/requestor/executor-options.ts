/**
 * The Executor's options: validated once with zod where they enter (a UserError naming the field),
 * then resolved into a readonly object with every default filled in.
 */
import type { Logger } from "pino";
import { pino } from "pino";
import { z } from "zod";
import { UserError } from "../errors.js";
import { LeastExpensiveLinearPayu, type MarketStrategy } from "../market/index.js";
import { Allocation, parseAmount, type Decimal } from "../payment/index.js";
import type { EventConsumer } from "./events.js";
import { isNetwork, type Network } from "./network.js";
import { isPackage, type Package } from "./package.js";

export interface ExecutorOptions {
  /** The image and resources every task needs: `docker.repo({ imageHash, … })`. */
  readonly package: Package;
  /** Most workers (provider activities) at once. @default 5 */
  readonly maxWorkers?: number;
  /** The most the whole computation may cost, a decimal string (e.g. `"10.0"`). @default "1.0" */
  readonly budget?: string;
  /** The whole computation's deadline in ms; also the agreements' expiration. @default 1_200_000 (20 min) */
  readonly timeout?: number;
  /** The subnet to find providers in. @default "public" */
  readonly subnetTag?: string;
  /** Scores providers' proposals. @default new LeastExpensiveLinearPayu() */
  readonly strategy?: MarketStrategy;
  /** Called with every event, in order (e.g. `logSummary()`). @default none */
  readonly eventConsumer?: EventConsumer;
  /** One task's deadline across its batches, per attempt, in ms. @default none */
  readonly taskTimeout?: number;
  /** Retries of a failed task (on other providers) before it ends rejected. @default 3 */
  readonly maxTaskRetries?: number;
  /** Where the market is: `local({ providers })` or `nats({ servers })`. @default local() (3 providers) */
  readonly network?: Network;
  /** pino logger; child loggers per agreement, activity and task. @default silent */
  readonly logger?: Logger;
  /** How long each market round collects proposals (less when a local network has answered in full), in ms. @default 500 */
  readonly marketWindowMs?: number;
  /** Bound on `shutdown()`: grace for clean terminations, then force. @default 10_000 */
  readonly shutdownGraceMs?: number;
}

export interface ResolvedExecutorOptions {
  readonly package: Package;
  /** @default 5 */
  readonly maxWorkers: number;
  /** @default 1.0 */
  readonly budget: Decimal;
  /** @default 1_200_000 */
  readonly timeoutMs: number;
  /** @default "public" */
  readonly subnetTag: string;
  /** @default LeastExpensiveLinearPayu */
  readonly strategy: MarketStrategy;
  readonly eventConsumer: EventConsumer | undefined;
  readonly taskTimeoutMs: number | undefined;
  /** @default 3 */
  readonly maxTaskRetries: number;
  readonly network: Network;
  /** @default silent */
  readonly logger: Logger;
  /** @default 500 */
  readonly marketWindowMs: number;
  /** @default 10_000 */
  readonly shutdownGraceMs: number;
}

const ms = (max: number) => z.number().int().positive().max(max);

const schema = z.object({
  package: z.custom<Package>(isPackage, { message: "expected docker.repo({ imageHash, … })" }),
  maxWorkers: z.number().int().min(1).max(1000).default(5),
  budget: z.string().default("1.0"),
  timeout: ms(7 * 86_400_000).default(1_200_000),
  subnetTag: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, _ or -, at most 64")
    .default("public"),
  strategy: z
    .custom<MarketStrategy>(
      (v) => typeof v === "object" && v !== null && typeof (v as MarketStrategy).score === "function",
      { message: "expected a MarketStrategy (an object with score())" },
    )
    .optional(),
  eventConsumer: z
    .custom<EventConsumer>((v) => typeof v === "function", { message: "expected a function" })
    .optional(),
  taskTimeout: ms(7 * 86_400_000).optional(),
  maxTaskRetries: z.number().int().min(0).max(100).default(3),
  network: z.custom<Network>(isNetwork, { message: "expected local({ … }) or nats({ … })" }).optional(),
  logger: z
    .custom<Logger>((v) => typeof v === "object" && v !== null && typeof (v as Logger).child === "function", {
      message: "expected a pino logger",
    })
    .optional(),
  marketWindowMs: ms(600_000).default(500),
  shutdownGraceMs: ms(600_000).default(10_000),
});

/** Validate and resolve. @throws UserError naming the bad field. */
export function resolveExecutorOptions(
  options: ExecutorOptions,
  defaultNetwork: () => Network,
): ResolvedExecutorOptions {
  if (typeof options !== "object" || options === null)
    throw new UserError("new Executor(options): options must be an object");
  const r = schema.strict().safeParse(options);
  if (!r.success)
    throw new UserError(`invalid Executor options: ${z.prettifyError(r.error).replace(/\n/g, "; ")}`);
  const o = r.data;
  let budget: Decimal;
  try {
    budget = parseAmount(o.budget, "budget");
    if (budget.isZero()) throw new UserError("budget must be more than 0");
  } catch (err) {
    throw new UserError(
      `invalid Executor options: budget ${JSON.stringify(o.budget)} is not a positive decimal amount`,
      {
        cause: err,
      },
    );
  }
  return Object.freeze({
    package: o.package,
    maxWorkers: o.maxWorkers,
    budget,
    timeoutMs: o.timeout,
    subnetTag: o.subnetTag,
    strategy: o.strategy ?? new LeastExpensiveLinearPayu(),
    eventConsumer: o.eventConsumer,
    taskTimeoutMs: o.taskTimeout,
    maxTaskRetries: o.maxTaskRetries,
    network: o.network ?? defaultNetwork(),
    logger: o.logger ?? pino({ level: "silent" }),
    marketWindowMs: o.marketWindowMs,
    shutdownGraceMs: o.shutdownGraceMs,
  });
}

/** The budget as an Allocation (the payments module reserves and spends from it). */
export function budgetAllocation(o: ResolvedExecutorOptions): Allocation {
  return new Allocation(o.budget);
}

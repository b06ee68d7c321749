/**
 * Where the market is. A `Network` connects the Executor to a Bus (and, for the embedded local
 * network, starts the provider agents on it). `nats({ servers })` is defined here; `local()` lives
 * in `src/local/` because it needs the provider agent (requestor/ never imports provider/).
 */
import type { Logger } from "pino";
import { z } from "zod";
import { UserError } from "../errors.js";
import { NatsBus, type Bus } from "../transport/index.js";

/** What a network needs to know to connect. */
export interface NetworkContext {
  /** The executor's subnet: local providers join it. */
  readonly subnet: string;
  readonly logger: Logger;
}

/** A live connection to a network; the Executor closes it at shutdown. */
export interface NetworkConnection {
  readonly bus: Bus;
  /** How many providers the network is known to hold (local networks), to stop collecting early. */
  readonly expectedProviders?: number;
  /** Resolve once subscriptions made so far have reached the server. */
  settle(): Promise<void>;
  /** Close the bus (and stop whatever the network started). Bounded. */
  close(): Promise<void>;
}

export interface Network {
  /** A label for logs and errors, e.g. `local(3)` or `nats(nats://host:4222)`. */
  readonly description: string;
  connect(ctx: NetworkContext): Promise<NetworkConnection>;
}

export interface NatsNetworkOptions {
  /** `nats://host:port`, or several. */
  readonly servers: string | readonly string[];
  /** Connection name shown by the server's monitoring. @default "agora-requestor" */
  readonly name?: string;
  /** Give up on the first connect after this long. @default 5_000 */
  readonly connectTimeoutMs?: number;
}

const natsSchema = z.object({
  servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  name: z.string().min(1).optional(),
  connectTimeoutMs: z.number().int().positive().optional(),
});

/** A real NATS network of provider agents (many machines). */
export function nats(options: NatsNetworkOptions): Network {
  const r = natsSchema.safeParse(options);
  if (!r.success)
    throw new UserError(`invalid nats network: ${z.prettifyError(r.error).replace(/\n/g, "; ")}`);
  const o = r.data;
  const servers = typeof o.servers === "string" ? o.servers : o.servers.join(",");
  return {
    description: `nats(${servers})`,
    async connect(ctx) {
      const bus = await NatsBus.connect({
        servers: o.servers,
        name: o.name ?? "agora-requestor",
        logger: ctx.logger,
        ...(o.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: o.connectTimeoutMs }),
      });
      return { bus, settle: () => bus.flush(), close: () => bus.close() };
    },
  };
}

/** Use an existing bus (tests, embedding); the caller keeps ownership: it is not closed. */
export function onBus(bus: Bus, opts: { description?: string; settle?: () => Promise<void> } = {}): Network {
  return {
    description: opts.description ?? "bus",
    connect: () =>
      Promise.resolve({
        bus,
        settle: opts.settle ?? (() => Promise.resolve()),
        close: () => Promise.resolve(),
      }),
  };
}

/** Whether `value` looks like a Network. */
export function isNetwork(value: unknown): value is Network {
  return typeof value === "object" && value !== null && typeof (value as Network).connect === "function";
}

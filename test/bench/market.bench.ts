/**
 * Market benchmark (issue 5): demand → first proposal and demand → agreement approved (the first
 * proposal taken at once), with 1, 10 and 100 provider agents in one process, on MemoryBus and on
 * NatsBus against a real nats-server. The raw baseline is the same traffic unsigned, on the same bus:
 * a scatter/gather to N echo responders (first reply, all replies) and, for the agreement, that plus
 * two request/reply round trips (propose, terminate). Agents run with a fake ContainerRuntime (no
 * activity runs here). In one process every agent's handler (verify, parse, match, sign) shares
 * one thread, so the time to the first proposal grows with N.
 *
 * Run alone: `npx tsx test/bench/market.bench.ts`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { demandFor, LeastExpensiveLinearPayu } from "../../src/market/index.js";
import { ImageStore } from "../../src/images/index.js";
import { loadPreset, ProviderAgent } from "../../src/provider/index.js";
import type { ContainerRuntime } from "../../src/provider/runtime/index.js";
import { NodeIdentity } from "../../src/protocol/index.js";
import { RequestorNode } from "../../src/requestor/index.js";
import { MemoryBus, NatsBus, type Bus } from "../../src/transport/index.js";
import { NatsServer } from "../integration/helpers/nats-server.js";
import { isMain, percentile, printTable, timeMs, type Row } from "./report.js";

const COUNTS = [1, 10, 100] as const;
const ITERATIONS = 20;
const RAW_ROUNDS = 200;
const IMAGE = `docker:sha256:${"ab".repeat(32)}`;

/** A runtime that is never asked to run anything (the market does not touch it). */
function idleRuntime(): ContainerRuntime {
  const no = (): Promise<never> => Promise.reject(new Error("the market bench runs no activity"));
  return {
    deploy: no,
    start: no,
    putFiles: no,
    putArchive: no,
    exec: no,
    getFile: no,
    usage: no,
    destroy: () => Promise.resolve(),
    cleanupOrphans: () => Promise.resolve(0),
    importRootfs: no,
    saveImage: no,
    loadImage: no,
    inspectImage: () => Promise.resolve(undefined),
    removeImage: () => Promise.resolve(),
  };
}

interface Raw {
  /** Unsigned scatter/gather to `n` echo responders: first reply, all replies (p50). */
  readonly first: number;
  readonly all: number;
  /** Unsigned request/reply p50. */
  readonly rtt: number;
}

/** The raw floor on `bus`: what the market's round trips cost without signing, parsing or matching. */
async function rawFloor(n: number, server: Bus, client: Bus, settle: () => Promise<void>): Promise<Raw> {
  const subs = Array.from({ length: n }, () =>
    server.subscribe("bench.raw.demand", (m) => m.respond(m.data)),
  );
  await settle();
  const payload = new Uint8Array(2048);
  const first: number[] = [];
  const all: number[] = [];
  const rtt: number[] = [];
  try {
    for (let i = 0; i < RAW_ROUNDS; i++) {
      const start = performance.now();
      let got = 0;
      for await (const _ of client.requestMany("bench.raw.demand", payload, { maxWaitMs: 5000 })) {
        if (++got === 1) first.push(performance.now() - start);
        if (got === n) break;
      }
      all.push(performance.now() - start);
      rtt.push(await timeMs(() => client.request("bench.raw.demand", payload, { timeoutMs: 5000 })));
    }
  } finally {
    for (const s of subs) s.unsubscribe();
  }
  return { first: percentile(first, 50), all: percentile(all, 50), rtt: percentile(rtt, 50) };
}

interface Sample {
  firstProposal: number[];
  approved: number[];
  allProposals: number[];
}

async function measure(
  n: number,
  providerBus: Bus,
  requestorBus: Bus,
  settle: () => Promise<void>,
): Promise<Sample> {
  const dir = await mkdtemp(join(tmpdir(), "agora-market-bench-"));
  const subnet = `bench${n}`;
  const base = await loadPreset("default");
  const preset = { ...base, subnet, limits: { ...base.limits, maxAgreements: 1000 } };
  const runtime = idleRuntime();
  const agents: ProviderAgent[] = [];
  const requestor = new RequestorNode({
    bus: requestorBus,
    subnet,
    imageStore: new ImageStore({ root: join(dir, "images") }),
    images: [],
  });
  try {
    for (let i = 0; i < n; i++) {
      agents.push(
        await ProviderAgent.create({
          bus: providerBus,
          runtime,
          dataDir: join(dir, `a${i}`),
          identity: NodeIdentity.generate(),
          preset,
          name: `bench-${i}`,
          announceIntervalMs: 0,
          capToMachine: false,
        }),
      );
    }
    await settle();
    const strategy = new LeastExpensiveLinearPayu();
    const demand = demandFor({ taskPackage: IMAGE, expiresAt: Date.now() + 600_000, subnet });
    const out: Sample = { firstProposal: [], approved: [], allProposals: [] };
    for (let i = 0; i < ITERATIONS + 2; i++) {
      let first = 0;
      const approved = await timeMs(async () => {
        const got = await requestor.market.negotiate(demand, strategy, {
          windowMs: 5000,
          maxProposals: 1,
          expiresAt: Date.now() + 300_000,
        });
        first = got.collected.firstProposalMs ?? Number.NaN;
        await requestor.market.terminate(got.agreement, { reason: "Success" });
      });
      const all = await timeMs(() =>
        requestor.market.collectProposals(demand, { windowMs: 5000, maxProposals: n }),
      );
      if (i < 2) continue; // warm-up
      out.firstProposal.push(first);
      out.approved.push(approved);
      out.allProposals.push(all);
    }
    return out;
  } finally {
    requestor.close();
    await Promise.all(agents.map((a) => a.shutdown()));
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchBus(
  name: string,
  make: () => Promise<{
    provider: Bus;
    requestor: Bus;
    settle: () => Promise<void>;
    close: () => Promise<void>;
  }>,
): Promise<void> {
  const rows: Row[] = [];
  for (const n of COUNTS) {
    const b = await make();
    try {
      const raw = await rawFloor(n, b.provider, b.requestor, b.settle);
      const s = await measure(n, b.provider, b.requestor, b.settle);
      const row = (metric: string, samples: number[], floor: number): Row => ({
        metric: `${metric}, ${n} agent${n === 1 ? "" : "s"}, p50`,
        unit: "ms",
        raw: floor,
        agora: percentile(samples, 50),
        better: "lower",
      });
      rows.push(row("demand → first proposal", s.firstProposal, raw.first));
      rows.push(row("demand → agreement approved (incl. terminate)", s.approved, raw.first + 2 * raw.rtt));
      rows.push(row("demand → all proposals", s.allProposals, raw.all));
    } finally {
      await b.close();
    }
  }
  printTable(
    `market on ${name} (raw = the same round trips unsigned to echo responders; p50 of ${ITERATIONS} rounds)`,
    rows,
  );
}

export async function run(): Promise<void> {
  await benchBus("MemoryBus", () => {
    const bus = new MemoryBus();
    return Promise.resolve({
      provider: bus,
      requestor: bus,
      settle: () => Promise.resolve(),
      close: () => bus.close(),
    });
  });
  const server = await NatsServer.start();
  try {
    await benchBus("NatsBus", async () => {
      const provider = await NatsBus.connect({ servers: server.url });
      const requestor = await NatsBus.connect({ servers: server.url });
      return {
        provider,
        requestor,
        settle: async () => {
          await provider.flush();
          await requestor.flush();
        },
        close: async () => {
          await provider.close();
          await requestor.close();
        },
      };
    });
  } finally {
    await server.stop();
  }
}

if (isMain(import.meta.url)) await run();

/**
 * End to end: `agora provider` as separate processes on a real nats-server configured with
 * providers/nats-server.conf (users and per-role permissions). Both offers are live; a requestor
 * (with the requestor user) gets an agreement and a running container from one of them; SIGTERM
 * ends each process with exit code 0 in bounded time, the agreement terminated with `Shutdown`
 * and no container or volume of either agent left behind. And the CLI's failures: a wrong NATS
 * password, a bad preset, no Docker engine.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageStore, type ImageHash } from "../../../src/images/index.js";
import { LeastExpensiveLinearPayu, demandFor, type Termination } from "../../../src/market/index.js";
import { DockerRuntime } from "../../../src/provider/runtime/index.js";
import { Batch, RequestorNode, scanOffers } from "../../../src/requestor/index.js";
import { NatsBus } from "../../../src/transport/index.js";
import { testImageStoreRoot } from "../helpers/busybox-image.js";
import { NatsServer } from "../helpers/nats-server.js";
import { busyboxHash } from "../market/fixture.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CONFIG = join(ROOT, "providers/nats-server.conf");
/** A provider must be up (Docker pinged, NATS connected, offer printed) within this. */
const START_BOUND_MS = 60_000;
/** SIGTERM → exit: the agent's 15 s grace and the 5 s drain, with room. */
const STOP_BOUND_MS = 45_000;

const PROVIDER_PASS = randomBytes(12).toString("hex");
const REQUESTOR_PASS = randomBytes(12).toString("hex");

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `agora <args>` as its own process (TypeScript through tsx), output collected. */
function agora(args: readonly string[], env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run: Run = {
    child,
    stdout: "",
    stderr: "",
    exited: once(child, "exit").then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    })),
  };
  child.stdout?.on("data", (d: Buffer) => (run.stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

/** Resolve with the process's exit, or fail after `ms` (killing it). */
async function exitWithin(
  run: Run,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.child.kill("SIGKILL");
      reject(new Error(`did not exit within ${ms} ms\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`));
    }, ms);
  });
  try {
    return await Promise.race([run.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The node id the provider prints once it runs. */
async function nodeIdOf(run: Run): Promise<string> {
  const deadline = Date.now() + START_BOUND_MS;
  while (Date.now() < deadline) {
    const m = /node id\s+(\S+)/.exec(run.stdout);
    if (m) return m[1]!;
    if (run.child.exitCode !== null)
      throw new Error(`agora provider exited (${run.child.exitCode}):\n${run.stdout}\n${run.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`agora provider did not start within ${START_BOUND_MS} ms:\n${run.stdout}\n${run.stderr}`);
}

/** Containers and volumes the engine holds for an agent. */
function leftovers(agentId: string): string[] {
  const list = (kind: "ps" | "volume", extra: string[]): string[] =>
    execFileSync("docker", [...(kind === "ps" ? ["ps", "-a"] : ["volume", "ls"]), "-q", ...extra], {
      encoding: "utf8",
      timeout: 15_000,
    })
      .split("\n")
      .filter(Boolean);
  const filter = ["--filter", `label=agora.agent=${agentId}`];
  return [...list("ps", filter), ...list("volume", filter)];
}

describe("agora provider (processes on NATS with authentication)", () => {
  let nats: NatsServer;
  let dir: string;
  const runs: Run[] = [];
  const ids: string[] = [];
  const subnet = `e2e${randomBytes(4).toString("hex")}`;

  const provider = (
    name: string,
    preset: string,
    extra: readonly string[] = [],
    pass = PROVIDER_PASS,
  ): Run => {
    const run = agora(
      [
        "provider",
        "--nats",
        nats.url,
        "--nats-user",
        "provider",
        "--preset",
        preset,
        "--name",
        name,
        "--subnet",
        subnet,
        "--data-dir",
        join(dir, name),
        ...extra,
      ],
      { AGORA_NATS_PASS: pass },
    );
    runs.push(run);
    return run;
  };

  /** A requestor with the requestor user of nats-server.conf, serving the busybox image. */
  const openRequestor = async (hash: ImageHash) => {
    const bus = await NatsBus.connect({
      servers: nats.url,
      connectOptions: { user: "requestor", pass: REQUESTOR_PASS },
    });
    const requestor = new RequestorNode({
      bus,
      subnet,
      imageStore: new ImageStore({ root: testImageStoreRoot() }),
      images: [hash],
    });
    const close = async (): Promise<void> => {
      requestor.close();
      await bus.close();
    };
    return { requestor, close };
  };

  /** Agree with the cheapest provider and leave a started container there. */
  const runContainer = async (requestor: RequestorNode, hash: ImageHash) => {
    const { agreement } = await requestor.market.negotiate(
      demandFor({ taskPackage: `docker:${hash}`, expiresAt: Date.now() + 600_000, subnet }),
      new LeastExpensiveLinearPayu(),
      { windowMs: 2_000, expiresAt: Date.now() + 300_000 },
    );
    const activity = await requestor.activities.create(agreement);
    const batch = new Batch().deploy().start().run("/bin/echo", "hi");
    const ran = await requestor.activities.exec(activity, batch, { timeoutMs: 60_000 });
    expect(ran.results.at(-1)?.stdout).toBe("hi\n");
    expect(leftovers(agreement.providerId).length).toBeGreaterThan(0); // the container and its volumes
    return agreement;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "agora-e2e-provider-"));
    // nats-server takes the passwords of providers/nats-server.conf from its environment.
    process.env.AGORA_PROVIDER_PASS = PROVIDER_PASS;
    process.env.AGORA_REQUESTOR_PASS = REQUESTOR_PASS;
    try {
      nats = await NatsServer.start(["-c", CONFIG]);
    } finally {
      delete process.env.AGORA_PROVIDER_PASS;
      delete process.env.AGORA_REQUESTOR_PASS;
    }
  });

  afterAll(async () => {
    for (const r of runs)
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill("SIGKILL");
    const runtime = new DockerRuntime();
    for (const id of ids) await runtime.cleanupOrphans(id);
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("two providers offer, one serves an agreement, SIGTERM ends both cleanly", async () => {
    const hash = await busyboxHash();
    const alice = provider("alice", "cheap");
    const bob = provider("bob", "default");
    const [aliceId, bobId] = await Promise.all([nodeIdOf(alice), nodeIdOf(bob)]);
    ids.push(aliceId, bobId);
    expect(alice.stdout).toContain("agora provider alice is running");
    expect(alice.stdout).toMatch(/offers\s+1 thread\(s\), 1 GiB memory/);
    expect(alice.stderr).toMatch(/INFO {2}provider agent started/);

    const { requestor, close } = await openRequestor(hash);
    try {
      // Both offers are live on the market (announced at start, then every 10 s).
      const offers = await scanOffers(requestor.node, { subnet, durationMs: 11_000 });
      expect(offers.map((o) => o.providerId).sort()).toEqual([aliceId, bobId].sort());

      // The cheaper one (alice) gets the agreement and runs a container.
      const terminations: { agreementId: string; termination: Termination }[] = [];
      requestor.market.onTerminated((agreementId, termination) =>
        terminations.push({ agreementId, termination }),
      );
      const agreement = await runContainer(requestor, hash);
      expect(agreement.providerId).toBe(aliceId);
      expect(alice.stderr).toMatch(/agreement approved/);

      for (const r of [alice, bob]) r.child.kill("SIGTERM");
      const [a, b] = await Promise.all([exitWithin(alice, STOP_BOUND_MS), exitWithin(bob, STOP_BOUND_MS)]);
      expect(a).toEqual({ code: 0, signal: null });
      expect(b).toEqual({ code: 0, signal: null });
      expect(alice.stderr).toMatch(/agreement terminated.*reason=Shutdown/);
      expect(terminations.map((t) => [t.agreementId, t.termination.reason])).toEqual([
        [agreement.agreementId, "Shutdown"],
      ]);
      expect(leftovers(aliceId)).toEqual([]);
      expect(leftovers(bobId)).toEqual([]);
    } finally {
      await close();
    }
  });

  it("a second signal exits at once; the next start removes what was left", async () => {
    const hash = await busyboxHash();
    const erin = provider("erin", "cheap");
    const erinId = await nodeIdOf(erin);
    ids.push(erinId);
    const { requestor, close } = await openRequestor(hash);
    try {
      const agreement = await runContainer(requestor, hash);
      expect(agreement.providerId).toBe(erinId);
      erin.child.kill("SIGTERM");
      erin.child.kill("SIGINT");
      expect(await exitWithin(erin, STOP_BOUND_MS)).toEqual({ code: 1, signal: null });
      // Pending signals may be handled in either order.
      expect(erin.stderr).toMatch(/agora provider: SIG(INT|TERM) again, exiting now/);
      const left = leftovers(erinId);

      const again = provider("erin", "cheap"); // the same data dir: the same node id
      expect(await nodeIdOf(again)).toBe(erinId);
      if (left.length > 0)
        expect(again.stderr).toMatch(/removed containers of an earlier run {2}removed=[1-9]/);
      expect(leftovers(erinId)).toEqual([]);
      again.child.kill("SIGTERM");
      expect(await exitWithin(again, STOP_BOUND_MS)).toEqual({ code: 0, signal: null });
    } finally {
      await close();
    }
  });

  it("exits 1 saying why when NATS refuses its password", async () => {
    const run = provider("mallory", "cheap", [], "wrong-password");
    const { code } = await exitWithin(run, START_BOUND_MS);
    expect(code).toBe(1);
    expect(run.stderr).toMatch(
      /agora: cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+: '?Authorization Violation/i,
    );
  });

  it("exits 2 with the preset's validation error", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ name: "bad", subnet: "x y" }));
    const run = provider("carol", bad);
    const { code } = await exitWithin(run, START_BOUND_MS);
    expect(code).toBe(2);
    expect(run.stderr).toContain(`agora: invalid provider preset ${bad}`);
    expect(run.stderr).toMatch(/→ at subnet/);
  });

  it("exits 1 with what to do when the Docker engine does not answer", async () => {
    const run = agora(["provider", "--nats", nats.url, "--data-dir", join(dir, "dave")], {
      DOCKER_HOST: `unix://${join(dir, "no-docker.sock")}`,
    });
    runs.push(run);
    const { code } = await exitWithin(run, START_BOUND_MS);
    expect(code).toBe(1);
    expect(run.stderr.trim()).toBe(
      "agora: the Docker engine does not answer on its socket: start it (run `npm run setup` as root) and retry",
    );
  });
});

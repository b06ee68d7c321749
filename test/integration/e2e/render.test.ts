/**
 * End to end, as separate processes on one machine: a real nats-server, three `agora provider`
 * agents (Docker runtime) and the render example with --nats, on a small job (6 frames at
 * 160×120). What a user would check: the exit code, the PNG files (decoded, of the asked size),
 * the animation, and that every agreement was invoiced and paid.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NatsServer } from "../helpers/nats-server.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const FRAMES = 6;
const [WIDTH, HEIGHT] = [160, 120];

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  output: string;
}

function start(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: Proc = { name, child, output: "" };
  const keep = (chunk: Buffer): void => {
    if (proc.output.length < 256 * 1024) proc.output += chunk.toString();
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return proc;
}

/** Resolve once `proc` printed `text`; reject when it exits first or after `timeoutMs`. */
async function waitFor(proc: Proc, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!proc.output.includes(text)) {
    if (proc.child.exitCode !== null)
      throw new Error(`${proc.name} exited (${proc.child.exitCode}):\n${proc.output}`);
    if (Date.now() > deadline)
      throw new Error(`${proc.name} did not print "${text}" in ${timeoutMs} ms:\n${proc.output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The exit code, or a rejection (after a SIGKILL) when it takes longer than `timeoutMs`. */
async function exitCode(proc: Proc, timeoutMs: number): Promise<number | null> {
  if (proc.child.exitCode !== null) return proc.child.exitCode;
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), timeoutMs);
  try {
    const [code] = (await once(proc.child, "exit")) as [number | null];
    if (code === null) throw new Error(`${proc.name} did not end within ${timeoutMs} ms:\n${proc.output}`);
    return code;
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM (a provider ends gracefully), SIGKILL after 30 s. */
async function stop(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = once(proc.child, "exit");
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 30_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

interface Summary {
  readonly frames: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly spent: string;
  readonly agreements: readonly {
    readonly agreementId: string;
    readonly providerName: string;
    readonly invoiced?: string;
    readonly paid: string;
    readonly terminated?: string;
  }[];
}

describe("render example across 3 provider processes on NATS", () => {
  const subnet = `e2e-${randomUUID().slice(0, 8)}`;
  const procs: Proc[] = [];
  let nats: NatsServer;
  let dir: string;
  let render: Proc;
  let code: number | null;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "agora-e2e-render-"));
    nats = await NatsServer.start();
    for (const name of ["alice", "bob", "carol"]) {
      const p = start(name, [
        "bin/agora.js",
        "provider",
        "--nats",
        nats.url,
        "--preset",
        "providers/default.json",
        "--name",
        name,
        "--subnet",
        subnet,
        "--data-dir",
        join(dir, name),
      ]);
      procs.push(p);
    }
    await Promise.all(procs.map((p) => waitFor(p, "is running", 60_000)));
    // The requestor shares the integration tests' image store: povray is built there once.
    const home = process.env.AGORA_TEST_HOME ?? join(tmpdir(), "agora-test");
    render = start(
      "render",
      ["--import", "tsx", "examples/render/render.ts"].concat(
        ["--nats", nats.url, "--subnet", subnet, "--frames", String(FRAMES)],
        ["--width", String(WIDTH), "--height", String(HEIGHT), "--out", join(dir, "out"), "--timeout", "240"],
      ),
      { AGORA_HOME: home },
    );
    procs.push(render);
    code = await exitCode(render, 280_000);
  }, 400_000);

  afterAll(async () => {
    await Promise.all(procs.map(stop));
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it("exits 0 and says where the frames are", () => {
    expect(code, render.output).toBe(0);
    expect(render.output).toContain(`${FRAMES}/${FRAMES} frames and animation.gif in`);
  });

  it("writes every frame as a PNG that decodes, of the asked size", async () => {
    for (let f = 0; f < FRAMES; f++) {
      const png = PNG.sync.read(await readFile(join(dir, "out", `frame-${String(f).padStart(4, "0")}.png`)));
      expect([png.width, png.height]).toEqual([WIDTH, HEIGHT]);
    }
    const gif = await readFile(join(dir, "out", "animation.gif"));
    expect(gif.subarray(0, 6).toString("latin1")).toBe("GIF89a");
  });

  it("every agreement ended cleanly, was invoiced and paid the invoiced amount", async () => {
    const summary = JSON.parse(await readFile(join(dir, "out", "summary.json"), "utf8")) as Summary;
    expect(summary).toMatchObject({ frames: FRAMES, accepted: FRAMES, rejected: 0 });
    expect(summary.agreements.length).toBeGreaterThan(0);
    let total = 0;
    for (const a of summary.agreements) {
      const what = JSON.stringify(a);
      expect(a.terminated, what).toBe("Success");
      expect(a.invoiced, what).toMatch(/^\d+(\.\d+)?$/);
      expect(Number(a.invoiced), what).toBeGreaterThan(0);
      expect(a.paid, what).toBe(a.invoiced);
      total += Number(a.paid);
    }
    expect(Number(summary.spent)).toBeCloseTo(total, 9);
    expect(render.output).toMatch(
      new RegExp(`${summary.agreements.length}/${summary.agreements.length} agreement\\(s\\) paid`),
    );
    // And the providers say so: each logged the payment for its agreement, of that amount.
    for (const a of summary.agreements) {
      const provider = procs.find((p) => p.name === a.providerName);
      expect(provider, JSON.stringify(a)).toBeDefined();
      await waitFor(provider!, `payment received  agreementId=${a.agreementId}  amount=${a.paid}`, 10_000);
    }
  });
});

describe("render example: exit codes and messages", () => {
  const run = async (
    args: readonly string[],
    env: NodeJS.ProcessEnv = {},
  ): Promise<[number | null, string]> => {
    const p = start("render", ["--import", "tsx", "examples/render/render.ts", ...args], env);
    const code = await exitCode(p, 120_000);
    return [code, p.output];
  };
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), "agora-e2e-render-codes-"));
  });
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it("bad options: exit 2, the option named, the usage shown", async () => {
    const [code, output] = await run(["--frames", "0"]);
    expect(code).toBe(2);
    expect(output).toContain("render: --frames must be at least 1");
    expect(output).toContain("Usage: render [options]");
  });

  it("Docker not reachable: exit 1 and one line saying what to do", async () => {
    const [code, output] = await run(["--out", out], { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    expect(code).toBe(1);
    expect(output).toContain("render: the Docker engine does not answer on its socket");
    expect(output).toContain("npm run setup");
  });

  it("a budget too small for any provider: exit 1, the budget named, nothing rendered", async () => {
    const home = process.env.AGORA_TEST_HOME ?? join(tmpdir(), "agora-test");
    const [code, output] = await run(["--budget", "0.0001", "--frames", "3", "--out", out], {
      AGORA_HOME: home,
    });
    expect(code, output).toBe(1);
    expect(output).toContain("render: the budget ran out");
    expect(output).toContain("0/3 frames in");
  });
});

import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { AbortError, ProviderError, TimeoutError } from "../../../../src/errors.js";
import { runCommand, type ExecEngine } from "../../../../src/provider/runtime/exec-session.js";
import { frame } from "./frames.js";

/** A hand-written engine: one command whose output and end the test scripts. */
class FakeEngine implements ExecEngine {
  readonly stream = new PassThrough();
  readonly calls: string[] = [];
  started: readonly string[] = [];
  exit = 0;
  killWorks = true;
  keeperWorks = true;

  async start(argv: readonly string[], opts: { env?: readonly string[]; workdir?: string }) {
    this.started = argv;
    this.calls.push(`start env=${opts.env?.join(",") ?? ""} wd=${opts.workdir ?? ""}`);
    return { stream: this.stream, exitCode: async () => this.exit };
  }

  async runQuiet(argv: readonly string[]) {
    this.calls.push(`quiet ${argv[2] ?? ""}`);
    if (!this.killWorks) throw new Error("exec failed: no pids left");
    this.exit = 137;
    this.stream.end();
  }

  async signalKeeper() {
    this.calls.push("keeper");
    if (this.keeperWorks) this.stream.end();
  }

  write(type: 1 | 2, text: string): void {
    this.stream.write(frame(type, text));
  }
}

const explain = async (err: unknown) => new ProviderError(`could not start: ${String(err)}`);

describe("runCommand", () => {
  it("returns exit code and both streams, without the wrapper's pid line", async () => {
    const engine = new FakeEngine();
    engine.exit = 3;
    const seen: string[] = [];
    const done = runCommand(
      engine,
      ["echo", "hi"],
      { env: { A: "1" }, workdir: "/golem/work", onOutput: (s, c) => seen.push(`${s}:${c.toString()}`) },
      1000,
      explain,
    );
    await Promise.resolve();
    engine.write(1, "42\nhi\n");
    engine.write(2, "warn\n");
    engine.stream.end();
    expect(await done).toEqual({ exitCode: 3, stdout: "hi\n", stderr: "warn\n", truncated: false });
    expect(seen).toEqual(["stdout:hi\n", "stderr:warn\n"]);
    expect(engine.calls[0]).toBe("start env=A=1 wd=/golem/work");
    expect(engine.started.slice(-2)).toEqual(["echo", "hi"]);
  });

  it("kills the process group at the deadline and fails with TimeoutError", async () => {
    const engine = new FakeEngine();
    const done = runCommand(engine, "sleep 100", { timeoutMs: 50 }, 1000, explain);
    await Promise.resolve();
    engine.write(1, "77\n");
    const err = await done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('command "sleep 100" did not finish within 50 ms; it was killed');
    expect(engine.calls).toContain("quiet kill -9 -77 2>/dev/null || kill -9 77 2>/dev/null; exit 0");
    expect(engine.calls).not.toContain("keeper");
  });

  it("maps a caller's abort to AbortError, not TimeoutError", async () => {
    const engine = new FakeEngine();
    const ac = new AbortController();
    const done = runCommand(
      engine,
      ["sleep", "100"],
      { signal: ac.signal, timeoutMs: 10_000 },
      1000,
      explain,
    );
    engine.write(1, "5\n");
    setTimeout(() => ac.abort(), 20);
    const err = await done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(err).not.toBeInstanceOf(TimeoutError);
    expect(engine.calls.some((c) => c.startsWith("quiet kill -9 -5"))).toBe(true);
  });

  it("falls back to the keeper when no kill can run (fork bomb)", async () => {
    const engine = new FakeEngine();
    engine.killWorks = false;
    const done = runCommand(engine, "bomb", { timeoutMs: 30 }, 400, explain);
    engine.write(1, "9\n");
    await expect(done).rejects.toThrow(/it was killed/);
    expect(engine.calls.filter((c) => c.startsWith("quiet"))).toHaveLength(3);
    expect(engine.calls).toContain("keeper");
  });

  it("says so when the command cannot be stopped at all", async () => {
    const engine = new FakeEngine();
    engine.killWorks = false;
    engine.keeperWorks = false;
    const err = await runCommand(engine, "stuck", { timeoutMs: 20 }, 200, explain).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(
      /could not be killed: command "stuck" could not be stopped within 200 ms/,
    );
    expect((err as Error).cause).toBeInstanceOf(ProviderError);
  });

  it("explains a command that cannot start", async () => {
    const engine = new FakeEngine();
    engine.start = () => Promise.reject(new Error("container is not running"));
    await expect(runCommand(engine, "x", {}, 100, explain)).rejects.toThrow(
      /could not start: Error: container is not running/,
    );
  });

  it("fails with the error an onOutput callback threw", async () => {
    const engine = new FakeEngine();
    const done = runCommand(
      engine,
      "x",
      {
        onOutput: () => {
          throw new Error("consumer broke");
        },
      },
      100,
      explain,
    );
    engine.write(1, "1\nout");
    engine.stream.end();
    await expect(done).rejects.toThrow("consumer broke");
  });
});

/**
 * One command's life in a container, Docker-free: start it under the wrapper, split and cap its
 * output, and on timeout or abort kill it — its process group first, then (when no pid is left
 * for a `kill`, e.g. under a fork bomb) every process but the keeper. docker.ts supplies the
 * engine operations as an `ExecEngine`.
 */
import type { Duplex } from "node:stream";
import { ProviderError, TimeoutError, withDeadline } from "../../errors.js";
import { describeCommand, envList, killCommand, wrapCommand } from "./container-spec.js";
import { CappedOutput, FrameDemuxer, PidLineReader } from "./exec-output.js";
import type { ExecOptions, ExecResult } from "./types.js";

/** What running a command needs from the engine, for one container. */
export interface ExecEngine {
  /** Start `argv` with stdout and stderr attached; the stream is the engine's multiplexed output. */
  start(
    argv: readonly string[],
    opts: { readonly env?: readonly string[]; readonly workdir?: string; readonly signal: AbortSignal },
  ): Promise<{ readonly stream: Duplex; exitCode(): Promise<number> }>;
  /** Run a helper command (output discarded) and wait for it, bounded. */
  runQuiet(argv: readonly string[], timeoutMs: number): Promise<void>;
  /** Ask the keeper to kill every other process in the container. */
  signalKeeper(): Promise<void>;
}

const DEFAULT_MAX_OUTPUT = 1024 * 1024;

/**
 * Run `command` to its end, or kill it at `opts.timeoutMs` (`TimeoutError`) or when `opts.signal`
 * fires (`AbortError`). A command that cannot be started rejects with what `explainStartFailure`
 * makes of the engine's error.
 */
export async function runCommand(
  engine: ExecEngine,
  command: readonly string[] | string,
  opts: ExecOptions,
  killGraceMs: number,
  explainStartFailure: (err: unknown) => Promise<Error>,
): Promise<ExecResult> {
  const what = `command ${JSON.stringify(describeCommand(command))}`;
  let killFailure: Error | undefined;
  return withDeadline(
    (signal) =>
      runOnce(engine, command, opts, signal, {
        what,
        killGraceMs,
        explainStartFailure,
        onKillFailure: (e) => (killFailure = e),
      }),
    {
      what,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onTimeout: () =>
        new TimeoutError(
          `${what} did not finish within ${opts.timeoutMs} ms` +
            (killFailure ? ` and could not be killed: ${killFailure.message}` : "; it was killed"),
          killFailure ? { cause: killFailure } : {},
        ),
    },
  );
}

interface RunContext {
  readonly what: string;
  readonly killGraceMs: number;
  readonly explainStartFailure: (err: unknown) => Promise<Error>;
  readonly onKillFailure: (err: Error) => void;
}

async function runOnce(
  engine: ExecEngine,
  command: readonly string[] | string,
  opts: ExecOptions,
  signal: AbortSignal,
  ctx: RunContext,
): Promise<ExecResult> {
  let started: Awaited<ReturnType<ExecEngine["start"]>>;
  try {
    started = await engine.start(wrapCommand(command), {
      ...(opts.env ? { env: envList(opts.env) } : {}),
      ...(opts.workdir ? { workdir: opts.workdir } : {}),
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw err;
    throw await ctx.explainStartFailure(err);
  }
  const { stream } = started;
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const stdout = new CappedOutput(max);
  const stderr = new CappedOutput(max);
  const pid = new PidLineReader();
  let callbackError: unknown;
  const demux = new FrameDemuxer((name, payload) => {
    const data = name === "stdout" ? pid.take(payload) : payload;
    if (data.length === 0) return;
    (name === "stdout" ? stdout : stderr).push(data);
    if (opts.onOutput && callbackError === undefined) {
      try {
        opts.onOutput(name, data);
      } catch (err) {
        callbackError = err;
      }
    }
  });
  const ended = new Promise<void>((resolve, reject) => {
    stream.on("data", (chunk: Buffer) => demux.push(chunk));
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", reject);
  });
  let onAbort = (): void => {};
  const aborted = new Promise<"aborted">((resolve) => {
    onAbort = () => resolve("aborted");
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const first = await Promise.race([ended.then(() => "ended" as const), aborted]);
    if (first === "aborted") {
      await stop(engine, pid, ended, ctx).catch((err: unknown) => ctx.onKillFailure(asError(err)));
      throw asError(signal.reason);
    }
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ProviderError(`${ctx.what}: the output stream broke: ${asError(err).message}`, { cause: err });
  } finally {
    signal.removeEventListener("abort", onAbort);
    pid.finish();
    stream.destroy();
  }
  if (callbackError !== undefined) throw asError(callbackError);
  return {
    exitCode: await started.exitCode(),
    stdout: stdout.text(),
    stderr: stderr.text(),
    truncated: stdout.truncated || stderr.truncated,
  };
}

/** Kill the running command and wait for its output stream to end, within the kill grace. */
async function stop(
  engine: ExecEngine,
  pid: PidLineReader,
  ended: Promise<void>,
  ctx: RunContext,
): Promise<void> {
  const grace = ctx.killGraceMs;
  const gone = (ms: number): Promise<boolean> =>
    within(
      ended.then(
        () => true,
        () => true,
      ),
      ms,
      false,
    );
  const target = await within(pid.wait(), grace / 4, undefined);
  if (target !== undefined) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const killed = await engine.runQuiet(killCommand(target), grace / 4).then(
        () => true,
        () => false,
      );
      if (await gone(killed ? grace / 4 : 200)) return;
      // The group is dead yet the output is still held open (a process left the group): escalate.
      if (killed) break;
    }
  }
  await engine.signalKeeper();
  if (await gone(grace / 2)) return;
  throw new ProviderError(`${ctx.what} could not be stopped within ${grace} ms`);
}

/** `promise`'s value if it settles within `ms`, else `fallback`; the timer never outlives the race. */
export async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

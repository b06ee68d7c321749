import { describe, expect, it } from "vitest";
import {
  AbortError,
  AgoraError,
  BatchTimeoutError,
  CommandExecutionError,
  ImageHashMismatchError,
  TimeoutError,
  withDeadline,
} from "../../src/errors.js";

describe("error tree", () => {
  it("sets name, code, cause and context", () => {
    const cause = new Error("root");
    const err = new BatchTimeoutError("batch took too long", { cause, taskId: "t1", providerId: "p1" });
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(AgoraError);
    expect(err.name).toBe("BatchTimeoutError");
    expect(err.code).toBe("BATCH_TIMEOUT");
    expect(err.cause).toBe(cause);
    expect(err.taskId).toBe("t1");
    expect(err.providerId).toBe("p1");
  });

  it("CommandExecutionError names the command, exit code and the end of stderr", () => {
    const err = new CommandExecutionError({
      command: "render.sh",
      exitCode: 2,
      stdout: "",
      stderr: "a\nb\nbad frame\n",
    });
    expect(err.message).toBe('command "render.sh" exited with code 2: a\nb\nbad frame');
    expect(err.exitCode).toBe(2);
  });

  it("ImageHashMismatchError carries both hashes", () => {
    const err = new ImageHashMismatchError("sha256:aa", "sha256:bb");
    expect(err.message).toContain("sha256:aa");
    expect(err.actual).toBe("sha256:bb");
  });
});

describe("withDeadline", () => {
  it("maps the deadline to TimeoutError", async () => {
    const never = (signal: AbortSignal) =>
      new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error("stopped"))));
    await expect(withDeadline(never, { timeoutMs: 20, what: "op" })).rejects.toThrow(TimeoutError);
  });

  it("maps a caller abort to AbortError, not TimeoutError", async () => {
    const ac = new AbortController();
    const p = withDeadline(
      (signal) =>
        new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error("x")))),
      { timeoutMs: 5_000, signal: ac.signal, what: "op" },
    );
    ac.abort();
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(err).not.toBeInstanceOf(TimeoutError);
  });

  it("builds a custom timeout error", async () => {
    const p = withDeadline(
      (s) => new Promise<never>((_, r) => s.addEventListener("abort", () => r(new Error()))),
      {
        timeoutMs: 10,
        what: "batch",
        onTimeout: () => new BatchTimeoutError("batch timed out"),
      },
    );
    await expect(p).rejects.toThrow(BatchTimeoutError);
  });
});

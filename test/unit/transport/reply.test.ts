/** Request plumbing: every outcome removes its abort listener and close hook. */
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { AbortError, TimeoutError } from "../../../src/errors.js";
import { awaitReply, collectReplies } from "../../../src/transport/reply.js";

describe("awaitReply", () => {
  const outcomes: [
    string,
    (deliver: (d: Uint8Array) => void, fail: (e: Error) => void, ctrl: AbortController) => void,
    unknown,
  ][] = [
    ["a reply", (deliver) => setTimeout(() => deliver(new Uint8Array([1])), 5), new Uint8Array([1])],
    ["a failure", (_d, fail) => setTimeout(() => fail(new Error("nope")), 5), "nope"],
    ["the deadline", () => undefined, TimeoutError],
    ["an abort", (_d, _f, ctrl) => setTimeout(() => ctrl.abort(), 5), AbortError],
  ];

  it.each(outcomes)("cleans up after %s", async (_what, act, expected) => {
    const ctrl = new AbortController();
    const closers = new Set<() => void>();
    let cleaned = 0;
    const result = await awaitReply("s", { timeoutMs: 30, signal: ctrl.signal }, closers, (deliver, fail) => {
      act(deliver, fail, ctrl);
      return () => cleaned++;
    }).catch((e: unknown) => e);
    if (typeof expected === "function") expect(result).toBeInstanceOf(expected);
    else if (typeof expected === "string") expect((result as Error).message).toBe(expected);
    else expect(result).toEqual(expected);
    expect(cleaned).toBe(1);
    expect(closers.size).toBe(0);
    expect(getEventListeners(ctrl.signal, "abort")).toHaveLength(0);
  });
});

describe("collectReplies", () => {
  it("ends at the deadline and cleans up", async () => {
    const ctrl = new AbortController();
    const closers = new Set<() => void>();
    let cleaned = 0;
    const got: number[] = [];
    const replies = collectReplies("s", { maxWaitMs: 40, signal: ctrl.signal }, closers, (deliver) => {
      deliver(new Uint8Array([1]));
      setTimeout(() => deliver(new Uint8Array([2])), 5);
      return () => cleaned++;
    });
    for await (const r of replies) got.push(r[0]!);
    expect(got).toEqual([1, 2]);
    expect(cleaned).toBe(1);
    expect(closers.size).toBe(0);
    expect(getEventListeners(ctrl.signal, "abort")).toHaveLength(0);
  });
});

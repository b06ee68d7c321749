import { describe, expect, it } from "vitest";
import { AsyncQueue } from "../../../src/transport/index.js";

describe("AsyncQueue", () => {
  it("yields pushed items in order, waits for more, and ends", async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    const out: number[] = [];
    const done = (async () => {
      for await (const n of q) out.push(n);
    })();
    await new Promise((r) => setImmediate(r));
    q.push(2);
    q.push(3);
    q.end();
    q.push(4);
    await done;
    expect(out).toEqual([1, 2, 3]);
  });

  it("ends with an error after the items before it, and runs onReturn once on break", async () => {
    const failing = new AsyncQueue<number>();
    failing.push(1);
    failing.end(new Error("boom"));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of failing) seen.push(n);
      })(),
    ).rejects.toThrow("boom");
    expect(seen).toEqual([1]);

    let returned = 0;
    const q = new AsyncQueue<number>(() => returned++);
    q.push(1);
    q.push(2);
    for await (const _ of q) break;
    expect(returned).toBe(1);
    expect(q.ended).toBe(true);
  });
});

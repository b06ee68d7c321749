import { describe, expect, it } from "vitest";
import { AbortError, TimeoutError } from "../../../src/errors.js";
import { mapAbort, throwIfAborted } from "../../../src/images/abort.js";

describe("abort helpers", () => {
  it("throwIfAborted throws our AbortError, and keeps an AgoraError reason as it is", () => {
    expect(() => throwIfAborted(undefined, "x")).not.toThrow();
    expect(() => throwIfAborted(AbortSignal.abort(), "fetching x")).toThrow(
      new AbortError("fetching x was aborted"),
    );
    const timeout = new TimeoutError("too slow");
    expect(() => throwIfAborted(AbortSignal.abort(timeout), "x")).toThrow(timeout);
  });

  it("mapAbort turns any failure after an abort into AbortError, and passes other failures through", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(
      mapAbort(ac.signal, "building", () => Promise.reject(new Error("EPIPE"))),
    ).rejects.toBeInstanceOf(AbortError);
    await expect(mapAbort(undefined, "building", () => Promise.reject(new Error("EPIPE")))).rejects.toThrow(
      "EPIPE",
    );
    expect(await mapAbort(undefined, "x", () => Promise.resolve(3))).toBe(3);
  });
});

/** LruCache: bounded, evicts the least recently used entry. */
import { describe, expect, it } from "vitest";
import { LruCache } from "../../../src/protocol/lru.js";

describe("LruCache", () => {
  it("evicts the least recently used entry, where a read counts as a use", () => {
    const cache = new LruCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toBe(1); // "b" is now the oldest
    cache.set("c", 3);
    expect(cache.has("b")).toBe(false);
    expect(cache.get("a")).toBe(1);
    expect(cache.get("c")).toBe(3);
    expect(cache.size).toBe(2);
  });

  it("replaces a value without evicting another, and refuses a capacity below 1", () => {
    const cache = new LruCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("a", 10);
    expect([cache.get("a"), cache.get("b"), cache.size]).toEqual([10, 2, 2]);
    expect(() => new LruCache(0)).toThrow(RangeError);
  });
});

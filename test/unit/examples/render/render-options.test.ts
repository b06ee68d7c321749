import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRenderOptions, UsageError } from "../../../../examples/render/render-options.js";

describe("render options", () => {
  it("defaults: 24 frames at 320×240 on 3 embedded providers, budget 1.0, ./out", () => {
    expect(parseRenderOptions([])).toEqual({
      frames: 24,
      width: 320,
      height: 240,
      quality: 9,
      providers: 3,
      budget: "1.0",
      nats: undefined,
      subnet: "public",
      out: resolve("out"),
      timeoutMs: 600_000,
    });
  });

  it("reads every option", () => {
    const o = parseRenderOptions(
      ["--frames", "6", "--width", "160", "--height=120", "--providers", "2", "--budget", "0.25"].concat([
        "--nats",
        "nats://127.0.0.1:4222",
        "--subnet",
        "e2e-1",
        "--out",
        "/tmp/x",
        "--timeout",
        "90",
      ]),
    );
    expect(o).toMatchObject({
      frames: 6,
      width: 160,
      height: 120,
      providers: 2,
      budget: "0.25",
      nats: "nats://127.0.0.1:4222",
      subnet: "e2e-1",
      out: "/tmp/x",
      timeoutMs: 90_000,
    });
  });

  it("--help returns undefined", () => {
    expect(parseRenderOptions(["-h"])).toBeUndefined();
  });

  it.each([
    [["--frames", "0"], "--frames must be at least 1"],
    [["--frames", "2.5"], "--frames must be a whole number"],
    [["--width", "wide"], "--width must be a number"],
    [["--height", "9000"], "--height must be at most 4096"],
    [["--budget=-1"], "--budget must be a positive decimal"],
    [["--budget", "0"], "--budget must be more than 0"],
    [["--nats", "127.0.0.1:4222"], "--nats must be a URL"],
    [["--subnet", "a b"], "--subnet must be"],
    [["--colour", "red"], "Unknown option '--colour'"],
    [["--frames"], "--frames"],
    [["extra"], "extra"],
  ])("refuses %j with a UsageError naming it", (argv, message) => {
    expect(() => parseRenderOptions(argv)).toThrow(UsageError);
    expect(() => parseRenderOptions(argv)).toThrow(message);
  });
});

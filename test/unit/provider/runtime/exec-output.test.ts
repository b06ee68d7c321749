import { describe, expect, it } from "vitest";
import { CappedOutput, FrameDemuxer, PidLineReader } from "../../../../src/provider/runtime/exec-output.js";
import { frame } from "./frames.js";

describe("FrameDemuxer", () => {
  it("splits stdout and stderr frames, across any chunk boundaries", () => {
    const all = Buffer.concat([frame(1, "out1"), frame(2, "err"), frame(1, "out2")]);
    for (const step of [1, 3, 7, 8, 9, all.length]) {
      const seen: string[] = [];
      const demux = new FrameDemuxer((s, p) => seen.push(`${s}:${p.toString()}`));
      for (let i = 0; i < all.length; i += step) demux.push(all.subarray(i, i + step));
      expect(seen.filter((s) => s.startsWith("stderr")).join("")).toBe("stderr:err");
      expect(
        seen
          .filter((s) => s.startsWith("stdout"))
          .map((s) => s.slice(7))
          .join(""),
      ).toBe("out1out2");
      expect(demux.pendingBytes).toBe(0);
    }
  });

  it("holds an incomplete frame", () => {
    const demux = new FrameDemuxer(() => undefined);
    demux.push(frame(1, "abcdef").subarray(0, 10));
    expect(demux.pendingBytes).toBe(10);
  });
});

describe("CappedOutput", () => {
  it("keeps up to the cap and flags truncation", () => {
    const out = new CappedOutput(5);
    out.push(Buffer.from("abc"));
    expect(out.truncated).toBe(false);
    out.push(Buffer.from("defg"));
    out.push(Buffer.from("h"));
    expect(out.text()).toBe("abcde");
    expect(out.truncated).toBe(true);
  });

  it("is not truncated when output ends exactly at the cap", () => {
    const out = new CappedOutput(3);
    out.push(Buffer.from("abc"));
    expect(out.truncated).toBe(false);
  });
});

describe("PidLineReader", () => {
  it("takes the pid line, even split over chunks, and passes the rest on", async () => {
    const r = new PidLineReader();
    expect(r.take(Buffer.from("12")).length).toBe(0);
    expect(r.take(Buffer.from("3\nhello")).toString()).toBe("hello");
    expect(r.take(Buffer.from("\nmore")).toString()).toBe("\nmore");
    expect(await r.wait()).toBe(123);
  });

  it("gives up on output that is not a pid line and keeps it", async () => {
    const r = new PidLineReader();
    expect(r.take(Buffer.from("not a pid\n")).toString()).toBe("not a pid\n");
    expect(await r.wait()).toBeUndefined();
  });

  it("resolves waiters with undefined when finished early", async () => {
    const r = new PidLineReader();
    const waiting = r.wait();
    r.finish();
    expect(await waiting).toBeUndefined();
  });
});

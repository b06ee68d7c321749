import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import type { ExecutorEvent } from "../../../../src/index.js";
import { formatDuration, formatProgress, ProgressBar } from "../../../../examples/render/render-progress.js";
import { RenderTally } from "../../../../examples/render/render-tally.js";

function stream(isTTY: boolean): { isTTY: boolean; text: string; write(s: string): void } {
  return {
    isTTY,
    text: "",
    write(s: string) {
      this.text += s;
    },
  };
}

const accepted = (taskId: string): ExecutorEvent => ({
  type: "task.accepted",
  taskId,
  providerId: "p",
  runningTimeMs: 1,
});

describe("render progress", () => {
  it("formats durations", () => {
    expect([formatDuration(0), formatDuration(65_000), formatDuration(3_723_000)]).toEqual([
      "0:00",
      "1:05",
      "1:02:03",
    ]);
  });

  it("shows frames done, ETA and spent of the budget", () => {
    const t = new RenderTally(4);
    expect(formatProgress(t, "1.0", 0)).toBe(
      "[------------------------] 0/4 frames  ETA --:--  spent 0 of 1.0",
    );
    t.add({ type: "task.started", taskId: "a", providerId: "p", attempt: 1 }, 0);
    t.add(accepted("a"));
    t.add({ type: "payment.debit_note_accepted", agreementId: "A", providerId: "p", amount: "0.0123" });
    expect(formatProgress(t, "1.0", 10_000)).toBe(
      "[######------------------] 1/4 frames  ETA 0:30  spent 0.0123 of 1.0",
    );
  });

  it("on a terminal redraws one line in place and ends it on stop", () => {
    const out = stream(true);
    const events = new Subject<ExecutorEvent>();
    const bar = new ProgressBar(new RenderTally(2), { budget: "1", stream: out, now: () => 0 }).follow(
      events,
    );
    events.next(accepted("a"));
    events.next(accepted("b"));
    bar.stop();
    bar.stop();
    expect(out.text.split("\r").slice(1)).toEqual([
      "[############------------] 1/2 frames  ETA --:--  spent 0 of 1\x1b[K",
      "[########################] 2/2 frames  done  spent 0 of 1\x1b[K",
      "[########################] 2/2 frames  done  spent 0 of 1\x1b[K\n",
    ]);
    events.next(accepted("c")); // still counted after the bar stopped, not drawn
    expect(out.text.endsWith("\n")).toBe(true);
  });

  it("prints other lines above the bar on a terminal, plainly elsewhere", () => {
    const tty = stream(true);
    const bar = new ProgressBar(new RenderTally(2), { budget: "1", stream: tty, now: () => 0 });
    bar.print("agreement with alice");
    expect(tty.text).toBe(
      "\r\x1b[Kagreement with alice\n\r[------------------------] 0/2 frames  ETA --:--  spent 0 of 1\x1b[K",
    );
    bar.stop();
    const plain = stream(false);
    new ProgressBar(new RenderTally(2), { budget: "1", stream: plain }).print("agreement with bob");
    expect(plain.text).toBe("agreement with bob\n");
  });

  it("elsewhere writes whole lines, only on its period and at the end", () => {
    const out = stream(false);
    const events = new Subject<ExecutorEvent>();
    const bar = new ProgressBar(new RenderTally(2), { budget: "1", stream: out }).follow(events);
    events.next(accepted("a"));
    expect(out.text).toBe("");
    bar.stop();
    expect(out.text).toBe("[############------------] 1/2 frames  ETA --:--  spent 0 of 1\n");
  });
});

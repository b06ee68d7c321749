/**
 * The live progress bar on stderr, fed by `executor.events$`: frames done/total, ETA and budget
 * spent. On a terminal one line redrawn in place (carriage return); otherwise (CI, a pipe) a plain
 * line every few seconds while something changed.
 */
import type { Observable } from "rxjs";
import type { ExecutorEvent } from "../../src/index.js";
import type { RenderTally } from "./render-tally.js";

const BAR_WIDTH = 24;

/** `1:05`, `12:00`, `1:02:03`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}

/** One progress line, e.g. `[#########---------------] 9/24 frames  ETA 0:21  spent 0.0123 of 1.0`. */
export function formatProgress(tally: RenderTally, budget: string, now: number): string {
  const done = tally.accepted + tally.rejected;
  const filled = tally.total === 0 ? BAR_WIDTH : Math.round((done / tally.total) * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
  const eta = tally.etaMs(now);
  const parts = [
    `${bar} ${tally.accepted}/${tally.total} frames`,
    tally.rejected > 0 ? `${tally.rejected} rejected` : undefined,
    tally.retried > 0 ? `${tally.retried} retried` : undefined,
    tally.finished ? "done" : `ETA ${eta === undefined ? "--:--" : formatDuration(eta)}`,
    `spent ${tally.spent.toDecimalPlaces(6).toString()} of ${budget}`,
  ];
  return parts.filter((p) => p !== undefined).join("  ");
}

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressOptions {
  readonly budget: string;
  /** @default process.stderr */
  readonly stream?: ProgressStream;
  /** Redraw period on a terminal. @default 250 */
  readonly ttyIntervalMs?: number;
  /** Line period elsewhere. @default 5_000 */
  readonly lineIntervalMs?: number;
  readonly now?: () => number;
}

export class ProgressBar {
  readonly #tally: RenderTally;
  readonly #stream: ProgressStream;
  readonly #budget: string;
  readonly #tty: boolean;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  #last = "";
  #stopped = false;

  constructor(tally: RenderTally, opts: ProgressOptions) {
    this.#tally = tally;
    this.#budget = opts.budget;
    this.#stream = opts.stream ?? process.stderr;
    this.#tty = this.#stream.isTTY === true;
    this.#now = opts.now ?? Date.now;
    const period = this.#tty ? (opts.ttyIntervalMs ?? 250) : (opts.lineIntervalMs ?? 5_000);
    this.#timer = setInterval(() => this.draw(), period);
    this.#timer.unref();
  }

  /** Count `events$` into the tally; on a terminal, redraw as each frame ends. */
  follow(events$: Observable<ExecutorEvent>): this {
    events$.subscribe((e) => {
      this.#tally.add(e, this.#now());
      if (this.#tty && (e.type === "task.accepted" || e.type === "task.rejected")) this.draw();
    });
    return this;
  }

  /** Draw now (on a terminal, in place; elsewhere only when the line changed). */
  draw(): void {
    if (this.#stopped) return;
    const line = formatProgress(this.#tally, this.#budget, this.#now());
    if (this.#tty) this.#stream.write(`\r${line}\x1b[K`);
    else if (line !== this.#last) this.#stream.write(`${line}\n`);
    this.#last = line;
  }

  /** Print a line of its own (e.g. logSummary's) above the bar, which is redrawn below it. */
  print(line: string): void {
    if (this.#tty && !this.#stopped) {
      this.#stream.write(`\r\x1b[K${line}\n`);
      this.draw();
    } else this.#stream.write(`${line}\n`);
  }

  /**
   * Draw the final line and end it, so what follows starts on a line of its own. The tally keeps
   * counting (payments arrive as agreements end) until `events$` completes. Safe to call twice.
   */
  stop(): void {
    if (this.#stopped) return;
    this.draw();
    this.#stopped = true;
    clearInterval(this.#timer);
    if (this.#tty) this.#stream.write("\n");
  }
}

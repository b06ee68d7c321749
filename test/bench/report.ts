/** Shared helpers for benchmarks: timing, percentiles and a plain table with ratios to a baseline. */

export interface Row {
  /** What was measured, e.g. "exec `true` p50". */
  readonly metric: string;
  /** The unit of both values, e.g. "ms" or "MiB/s". */
  readonly unit: string;
  /** The raw baseline measured in the same run. */
  readonly raw: number;
  /** Agora's number. */
  readonly agora: number;
  /** Whether higher is better (throughput) or lower is better (latency). */
  readonly better: "higher" | "lower";
  /** The target ratio agora/raw, when the issue sets one (e.g. ≤ 1.10 or ≥ 0.9). */
  readonly target?: number;
}

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? Number.NaN;
}

/** Milliseconds taken by `fn`. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function mibPerSec(bytes: number, ms: number): number {
  return bytes / (1024 * 1024) / (ms / 1000);
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Render rows as a Markdown table (README-ready), ratio = agora / raw. */
export function renderTable(title: string, rows: readonly Row[]): string {
  const lines = [
    `### ${title} (${new Date().toISOString().slice(0, 10)})`,
    "",
    "| metric | unit | raw | agora | ratio | target | ok |",
    "| --- | --- | ---: | ---: | ---: | ---: | :---: |",
  ];
  for (const r of rows) {
    const ratio = r.agora / r.raw;
    const target = r.target === undefined ? "" : `${r.better === "lower" ? "≤" : "≥"} ${r.target}`;
    const ok =
      r.target === undefined
        ? ""
        : (r.better === "lower" ? ratio <= r.target : ratio >= r.target)
          ? "yes"
          : "no";
    lines.push(
      `| ${r.metric} | ${r.unit} | ${fmt(r.raw)} | ${fmt(r.agora)} | ${ratio.toFixed(2)}× | ${target} | ${ok} |`,
    );
  }
  return lines.join("\n");
}

export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${renderTable(title, rows)}\n`);
}

/** True when the module at `metaUrl` is the process entry (run alone with tsx). */
export function isMain(metaUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && new URL(metaUrl).pathname === entry;
}

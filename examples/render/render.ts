/**
 * Agora's flagship example: render an animated POV-Ray scene, one frame per task, across providers.
 *
 *   npx tsx examples/render/render.ts                      # 3 providers in-process (Docker), 24 frames
 *   npx tsx examples/render/render.ts --nats nats://127.0.0.1:4222 --frames 6 --width 160 --height 120
 *
 * Writes out/frame-NNNN.png, out/animation.gif and out/summary.json. Exit code 0 when every frame
 * was rendered and accepted, 1 when some were not (or the budget ran out, or the run failed), 2 for
 * bad options, 130 after Ctrl-C (the run stops cleanly: agreements end and are paid, containers go).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BudgetExceededError,
  docker,
  Executor,
  local,
  logSummary,
  nats,
  Task,
  UserError,
  type ExecutorEvent,
} from "../../src/index.js";
import { writeAnimation } from "./animate.js";
import { checkPng } from "./png-check.js";
import { ensurePovrayImage } from "./render-image.js";
import { parseRenderOptions, USAGE, UsageError, type RenderOptions } from "./render-options.js";
import { ProgressBar } from "./render-progress.js";
import { RenderTally } from "./render-tally.js";
import { frameName, renderWorker, type Frame } from "./render-worker.js";

const SCENE = fileURLToPath(new URL("scene.pov", import.meta.url));
/** One frame's batch (params, render, download) must finish within this. */
const FRAME_TIMEOUT_MS = 120_000;

/** Render the animation; resolves with the process exit code. */
export async function render(opts: RenderOptions): Promise<number> {
  await mkdir(opts.out, { recursive: true });
  const imageHash = await ensurePovrayImage();

  const tally = new RenderTally(opts.frames);
  const progress = new ProgressBar(tally, { budget: opts.budget });
  const summary = logSummary({ write: (line) => progress.print(line) });
  const onEvent = (e: ExecutorEvent): void => {
    // The run is over: end the bar, so the summary's table prints below it.
    if (e.type === "computation.finished" || e.type === "computation.failed") progress.stop();
    summary(e);
  };

  const worker = renderWorker({
    scene: SCENE,
    frames: opts.frames,
    width: opts.width,
    height: opts.height,
    quality: opts.quality,
    outDir: opts.out,
    frameTimeoutMs: FRAME_TIMEOUT_MS,
    check: (file) => checkPng(file, { width: opts.width, height: opts.height }),
  });
  const tasks = Array.from({ length: opts.frames }, (_, frame) => new Task<Frame, string>({ frame }));

  const network =
    opts.nats === undefined ? local({ providers: opts.providers }) : nats({ servers: opts.nats });
  console.error(`render: ${opts.frames} frames at ${opts.width}×${opts.height} on ${network.description}`);

  const rejected: string[] = [];
  let failure: Error | undefined;
  let interrupted = false;
  {
    await using executor = new Executor({
      package: docker.repo({ imageHash, minMemGib: 0.5, minStorageGib: 1 }),
      maxWorkers: opts.providers,
      budget: opts.budget,
      timeout: opts.timeoutMs,
      subnetTag: opts.subnet,
      eventConsumer: onEvent,
      network,
    });
    progress.follow(executor.events$);
    const interrupt = new AbortController();
    const onSigint = (): void => {
      interrupted = true;
      interrupt.abort();
    };
    process.once("SIGINT", onSigint); // Ctrl-C: stop cleanly (agreements ended, containers removed)
    try {
      for await (const task of executor.submit(worker, tasks, { signal: interrupt.signal })) {
        if (task.status === "rejected") rejected.push(`frame ${task.data.frame}: ${task.reason?.message}`);
      }
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    } finally {
      process.off("SIGINT", onSigint);
      progress.stop();
    }
  } // the executor shuts down here: agreements end, providers invoice, invoices are paid

  if (interrupted || failure !== undefined) {
    // One reason for all of them, said below.
    if (rejected.length > 0) console.error(`render: ${rejected.length} frame(s) not rendered`);
  } else {
    for (const line of rejected.slice(0, 5)) console.error(`rejected ${line}`);
    if (rejected.length > 5) console.error(`… and ${rejected.length - 5} more rejected`);
  }
  const frames = tasks
    .filter((t) => t.status === "accepted")
    .map((t) => join(opts.out, frameName(t.data.frame)));
  let animation: string | undefined;
  if (frames.length > 0) {
    animation = join(opts.out, "animation.gif");
    await writeAnimation(frames, animation);
  }
  await writeFile(join(opts.out, "summary.json"), `${JSON.stringify(tally, null, 2)}\n`);

  const paid = [...tally.agreements.values()].filter((a) => a.paid.gt(0)).length;
  console.error(
    `spent ${tally.spent.toString()} of ${opts.budget}; ${paid}/${tally.agreements.size} agreement(s) paid`,
  );
  const rel = relative(process.cwd(), opts.out);
  const where = rel === "" ? "." : rel.startsWith("..") ? opts.out : rel;
  console.log(`${frames.length}/${opts.frames} frames${animation ? " and animation.gif" : ""} in ${where}/`);
  if (interrupted) {
    console.error("render: interrupted");
    return 130;
  }
  if (failure instanceof BudgetExceededError) console.error(`render: the budget ran out: ${failure.message}`);
  else if (failure !== undefined) throw failure;
  return frames.length === opts.frames ? 0 : 1;
}

async function main(argv: readonly string[]): Promise<number> {
  let opts: RenderOptions | undefined;
  try {
    opts = parseRenderOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`render: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === undefined) {
    console.log(USAGE);
    return 0;
  }
  try {
    return await render(opts);
  } catch (err) {
    console.error(`render: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof UserError ? 2 : 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}

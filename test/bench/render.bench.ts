/**
 * Render benchmark (issue 8, item 5): 24 frames of examples/render/scene.pov at 320×240 with 1, 2
 * and 3 providers, against a raw baseline measured in the same run (target ≤ 1.15× raw wall time).
 *
 * - agora: an Executor on local({ providers: N }), maxWorkers N, the example's render worker (scene
 *   once per provider, params per frame, render.sh, PNG downloaded and checked). Wall time from
 *   submit to the last accepted frame — market, image load, container deploy/start included — and,
 *   as a note, the total with executor start and shutdown (agreements ended, invoices paid).
 * - raw: N hardened containers through DockerRuntime with the limits the same N local agents
 *   would use (their presets' memory and threads, capped to this machine, 512 pids, 64 MiB /tmp),
 *   frames taken from one shared queue, no market. Its clock also includes container deploy+start
 *   and the scene upload, so both sides pay for their containers; the render-only time is a note.
 *
 * `npx tsx test/bench/render.bench.ts` runs it alone; `npm run bench` runs it with the others.
 */
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { checkPng } from "../../examples/render/png-check.js";
import { ensurePovrayImage } from "../../examples/render/render-image.js";
import { frameName, renderWorker, type Frame } from "../../examples/render/render-worker.js";
import { docker, Executor, local, Task } from "../../src/index.js";
import { ensureLoaded, ImageStore, parseImageHash } from "../../src/images/index.js";
import { capResources, loadPreset, machineResources } from "../../src/provider/index.js";
import { DockerRuntime, type ResourceLimits } from "../../src/provider/runtime/index.js";
import { isMain, printTable, timeMs, type Row } from "./report.js";

const FRAMES = 24;
const WIDTH = 320;
const HEIGHT = 240;
const QUALITY = 9;
const PROVIDERS = [1, 2, 3] as const;
/** The presets local() gives its agents, in turn. */
const LOCAL_PRESETS = ["default", "cheap", "premium"] as const;
const FRAME_TIMEOUT_MS = 120_000;
const SCENE = fileURLToPath(new URL("../../examples/render/scene.pov", import.meta.url));
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const params = (frame: number) => ({
  scene: "/golem/resource/scene.pov",
  frame,
  frames: FRAMES,
  width: WIDTH,
  height: HEIGHT,
  quality: QUALITY,
  antialias: true,
});

const check = (file: string) => checkPng(file, { width: WIDTH, height: HEIGHT });

/** The container limits of local()'s agent number `i`, as ProviderAgent resolves them by default. */
async function agentLimits(i: number, dataDir: string): Promise<ResourceLimits> {
  const preset = await loadPreset(LOCAL_PRESETS[i % LOCAL_PRESETS.length] ?? "default");
  const r = capResources(preset, await machineResources(dataDir));
  return {
    memoryBytes: Math.floor(r.memGib * GiB),
    nanoCpus: r.cpuThreads * 1e9,
    pidsLimit: 512,
    tmpfsBytes: 64 * MiB,
    logMaxBytes: MiB,
  };
}

interface RawResult {
  /** Deploy + start + scene + all frames, ms. */
  readonly wallMs: number;
  /** From the first frame taken to the last frame checked, ms. */
  readonly renderMs: number;
}

/** The same renders in `n` hardened containers fed from one queue; every PNG checked as agora does. */
async function rawRun(imageId: string, n: number, outDir: string, frames = FRAMES): Promise<RawResult> {
  const runtime = new DockerRuntime({ killGraceMs: 2_000 });
  const agentId = `bench-render-${randomUUID()}`;
  const limits = await Promise.all(Array.from({ length: n }, (_, i) => agentLimits(i, outDir)));
  let next = 0;
  let renderMs = Number.NaN;
  try {
    const wallMs = await timeMs(async () => {
      const ids = await Promise.all(
        limits.map(async (l, i) => {
          const c = await runtime.deploy({ image: imageId, agentId, activityId: `raw-${i}`, limits: l });
          await runtime.start(c.id);
          await runtime.putFiles(c.id, [{ path: "/golem/resource/scene.pov", source: { file: SCENE } }]);
          return c.id;
        }),
      );
      const renderStart = performance.now();
      await Promise.all(
        ids.map(async (id) => {
          while (next < frames) {
            const frame = next++;
            const json = Buffer.from(JSON.stringify(params(frame)));
            await runtime.putFiles(id, [{ path: "/golem/work/params.json", source: json }]);
            const r = await runtime.exec(id, ["/golem/entrypoints/render.sh"], {
              timeoutMs: FRAME_TIMEOUT_MS,
            });
            if (r.exitCode !== 0) throw new Error(`raw frame ${frame}: exit ${r.exitCode}: ${r.stderr}`);
            const file = join(outDir, frameName(frame));
            const png = await runtime.getFile(id, `/golem/output/${frameName(frame)}`, {
              maxBytes: 256 * MiB,
            });
            await pipeline(png, createWriteStream(file));
            const problem = await check(file);
            if (problem !== undefined) throw new Error(`raw frame ${frame}: ${problem}`);
          }
        }),
      );
      renderMs = performance.now() - renderStart;
    });
    return { wallMs, renderMs };
  } finally {
    await runtime.cleanupOrphans(agentId);
  }
}

interface AgoraResult {
  /** Submit → last accepted frame, ms. */
  readonly wallMs: number;
  /** Executor construction → shutdown done, ms. */
  readonly totalMs: number;
}

async function agoraRun(imageHash: string, n: number, outDir: string): Promise<AgoraResult> {
  const worker = renderWorker({
    scene: SCENE,
    frames: FRAMES,
    width: WIDTH,
    height: HEIGHT,
    quality: QUALITY,
    outDir,
    frameTimeoutMs: FRAME_TIMEOUT_MS,
    check,
  });
  let wallMs = Number.NaN;
  const totalMs = await timeMs(async () => {
    await using ex = new Executor({
      package: docker.repo({ imageHash, minMemGib: 0.5, minStorageGib: 1 }),
      network: local({ providers: n }),
      maxWorkers: n,
      subnetTag: "bench",
      timeout: 600_000,
    });
    const tasks = Array.from({ length: FRAMES }, (_, frame) => new Task<Frame, string>({ frame }));
    let accepted = 0;
    wallMs = await timeMs(async () => {
      for await (const t of ex.submit(worker, tasks)) if (t.status === "accepted") accepted++;
    });
    if (accepted !== FRAMES) throw new Error(`agora: only ${accepted} of ${FRAMES} frames accepted`);
  });
  return { wallMs, totalMs };
}

export async function run(): Promise<void> {
  const imageHash = await ensurePovrayImage();
  const { imageId } = await ensureLoaded(new DockerRuntime(), new ImageStore(), parseImageHash(imageHash));
  const dir = await mkdtemp(join(tmpdir(), "agora-bench-render-"));
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    await rawRun(imageId, 1, dir, 1); // warm-up: one frame, so no side pays for a cold engine or cache
    for (const n of PROVIDERS) {
      const rawDir = await mkdtemp(join(dir, `raw-${n}-`));
      const agoraDir = await mkdtemp(join(dir, `agora-${n}-`));
      const raw = await rawRun(imageId, n, rawDir);
      const agora = await agoraRun(imageHash, n, agoraDir);
      rows.push({
        metric: `${FRAMES} frames ${WIDTH}×${HEIGHT}, ${n} provider${n === 1 ? "" : "s"}: wall incl. container start`,
        unit: "ms",
        raw: raw.wallMs,
        agora: agora.wallMs,
        better: "lower",
        target: 1.15,
      });
      notes.push(
        `${n} provider(s): raw render-only ${raw.renderMs.toFixed(0)} ms; ` +
          `agora total with executor start + shutdown ${agora.totalMs.toFixed(0)} ms`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  printTable(`Render: ${FRAMES} POV-Ray frames, agora vs raw containers`, rows);
  for (const line of notes) console.log(line);
}

if (isMain(import.meta.url)) await run();

/**
 * The render worker (DESIGN §6): one runs per provider. It sends the scene once, then for each frame
 * sends its parameters, runs render.sh, downloads the PNG and accepts the frame only once the PNG
 * checks out; a bad PNG or a failed render is rejected and retried on another provider.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { CommandExecutionError, type Task, type WorkContext } from "../../src/index.js";

export interface Frame {
  readonly frame: number;
}

export interface RenderJob {
  /** The .pov file on this machine. */
  readonly scene: string;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly quality: number;
  /** Where frames are downloaded to. */
  readonly outDir: string;
  /** One frame's batch deadline, ms. */
  readonly frameTimeoutMs: number;
  /** Why the file is not a good frame, or undefined when it is. */
  readonly check: (file: string) => Promise<string | undefined>;
}

/** `frame-0007.png`: the name render.sh writes, and the one used in the output folder. */
export function frameName(frame: number): string {
  return `frame-${String(frame).padStart(4, "0")}.png`;
}

export function renderWorker(job: RenderJob) {
  return async function* worker(ctx: WorkContext, tasks: AsyncIterable<Task<Frame, string>>) {
    ctx.sendFile(job.scene, "/golem/resource/scene.pov"); // once per provider, with the first batch
    for await (const task of tasks) {
      const { frame } = task.data;
      const file = join(job.outDir, frameName(frame));
      ctx.sendJson("/golem/work/params.json", {
        scene: "/golem/resource/scene.pov",
        frame,
        frames: job.frames,
        width: job.width,
        height: job.height,
        quality: job.quality,
        antialias: true,
      });
      ctx.run("/golem/entrypoints/render.sh");
      ctx.downloadFile(`/golem/output/${frameName(frame)}`, file);
      try {
        yield ctx.commit({ timeout: job.frameTimeoutMs });
      } catch (err) {
        // The render itself failed (POV-Ray's reason is in the error): try the frame elsewhere.
        // Anything else (timeout, provider gone) ends this worker; the Executor retries the frame.
        if (!(err instanceof CommandExecutionError)) throw err;
        task.rejectResult(err, { retry: true });
        continue;
      }
      const problem = await job.check(file);
      if (problem === undefined) {
        task.acceptResult(file);
      } else {
        await rm(file, { force: true });
        task.rejectResult(`frame ${frame}: ${problem}`, { retry: true });
      }
    }
  };
}

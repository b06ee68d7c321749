import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandExecutionError, type Task, type WorkContext } from "../../../../src/index.js";
import { frameName, renderWorker, type Frame } from "../../../../examples/render/render-worker.js";

/** A WorkContext that records the steps it is given. */
function fakeContext() {
  const steps: string[] = [];
  const ctx = {
    sendFile: (local: string, remote: string) => steps.push(`sendFile ${local} ${remote}`),
    sendJson: (remote: string, value: unknown) => steps.push(`sendJson ${remote} ${JSON.stringify(value)}`),
    run: (cmd: string) => steps.push(`run ${cmd}`),
    downloadFile: (remote: string) => steps.push(`downloadFile ${remote}`),
    commit: (opts: { timeout: number }) => steps.push(`commit ${opts.timeout}`),
  };
  return { ctx: ctx as unknown as WorkContext, steps };
}

function fakeTask(frame: number) {
  const verdicts: string[] = [];
  const task = {
    data: { frame },
    acceptResult: (r: string) => verdicts.push(`accepted ${r}`),
    rejectResult: (reason: string | Error, opts: { retry?: boolean }) =>
      verdicts.push(
        `rejected ${String(reason instanceof Error ? reason.message : reason)} retry=${opts.retry}`,
      ),
  };
  return { task: task as unknown as Task<Frame, string>, verdicts };
}

async function* over<T>(items: readonly T[]): AsyncIterable<T> {
  for (const i of items) yield i;
}

describe("render worker", () => {
  let out: string;
  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), "render-worker-"));
  });
  afterEach(async () => {
    await rm(out, { recursive: true, force: true });
  });

  const job = (check: (file: string) => Promise<string | undefined>) =>
    renderWorker({
      scene: "/x/scene.pov",
      frames: 24,
      width: 160,
      height: 120,
      quality: 9,
      outDir: out,
      frameTimeoutMs: 5_000,
      check,
    });

  it("sends the scene once, then per frame its params, render.sh and the download; accepts good frames", async () => {
    const { ctx, steps } = fakeContext();
    const [a, b] = [fakeTask(3), fakeTask(4)];
    const gen = job(async () => undefined)(ctx, over([a.task, b.task]));
    let r = await gen.next();
    while (!r.done) r = await gen.next([]);
    expect(steps).toEqual([
      "sendFile /x/scene.pov /golem/resource/scene.pov",
      'sendJson /golem/work/params.json {"scene":"/golem/resource/scene.pov","frame":3,"frames":24,"width":160,"height":120,"quality":9,"antialias":true}',
      "run /golem/entrypoints/render.sh",
      "downloadFile /golem/output/frame-0003.png",
      "commit 5000",
      'sendJson /golem/work/params.json {"scene":"/golem/resource/scene.pov","frame":4,"frames":24,"width":160,"height":120,"quality":9,"antialias":true}',
      "run /golem/entrypoints/render.sh",
      "downloadFile /golem/output/frame-0004.png",
      "commit 5000",
    ]);
    expect(a.verdicts).toEqual([`accepted ${join(out, "frame-0003.png")}`]);
    expect(b.verdicts).toEqual([`accepted ${join(out, "frame-0004.png")}`]);
  });

  it("a frame that fails the check is removed and rejected with retry", async () => {
    const { ctx } = fakeContext();
    const t = fakeTask(7);
    const file = join(out, frameName(7));
    const gen = job(async () => "the image is 80×60, not 160×120")(ctx, over([t.task]));
    await gen.next();
    await writeFile(file, "not a png");
    expect((await gen.next([])).done).toBe(true);
    expect(t.verdicts).toEqual(["rejected frame 7: the image is 80×60, not 160×120 retry=true"]);
    expect(existsSync(file)).toBe(false);
  });

  it("a failed render is rejected with retry and the worker goes on; other errors end it", async () => {
    const { ctx } = fakeContext();
    const [a, b] = [fakeTask(0), fakeTask(1)];
    const gen = job(async () => undefined)(ctx, over([a.task, b.task]));
    await gen.next();
    const failed = new CommandExecutionError({
      command: "render.sh",
      exitCode: 1,
      stdout: "",
      stderr: "Parse Error",
    });
    expect((await gen.throw(failed)).done).toBe(false);
    expect(a.verdicts).toEqual([`rejected ${failed.message} retry=true`]);
    await expect(gen.throw(new Error("provider gone"))).rejects.toThrow("provider gone");
    expect(b.verdicts).toEqual([]);
  });
});

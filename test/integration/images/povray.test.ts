/**
 * The povray image (images/povray) end to end on the real engine: build it from Debian's packages
 * (cached by recipe hash in the test image store), run a hardened container, render frames of the
 * demo scene and check the PNGs.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageBuilder, ImageStore } from "../../../src/images/index.js";
import { DockerRuntime, type ContainerInfo } from "../../../src/provider/runtime/index.js";
import { testImageStoreRoot } from "../helpers/busybox-image.js";

const MiB = 1024 * 1024;
const POVRAY_RECIPE = fileURLToPath(new URL("../../../images/povray", import.meta.url));
const SCENE = fileURLToPath(new URL("../../../examples/render/scene.pov", import.meta.url));

/** Width and height from a PNG's IHDR chunk; throws when the bytes are not a PNG. */
function pngSize(png: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (!png.subarray(0, 8).equals(signature)) throw new Error("not a PNG: bad signature");
  if (png.toString("latin1", 12, 16) !== "IHDR") throw new Error("not a PNG: first chunk is not IHDR");
  if (png.toString("latin1", png.length - 8, png.length - 4) !== "IEND") throw new Error("PNG is truncated");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("images/povray", () => {
  const runtime = new DockerRuntime();
  const agentId = `images-test-${randomUUID()}`;
  let container: ContainerInfo;

  beforeAll(async () => {
    const builder = new ImageBuilder(runtime, new ImageStore({ root: testImageStoreRoot() }));
    const built = await builder.build(POVRAY_RECIPE);
    container = await runtime.deploy({
      image: built.imageId,
      agentId,
      activityId: `povray-${randomUUID().slice(0, 8)}`,
      limits: {
        memoryBytes: 512 * MiB,
        nanoCpus: 2e9,
        pidsLimit: 128,
        tmpfsBytes: 64 * MiB,
        logMaxBytes: MiB,
      },
    });
    await runtime.start(container.id);
    await runtime.putFiles(container.id, [
      { path: "/golem/resource/scene.pov", source: await readFile(SCENE) },
    ]);
  }, 300_000);

  afterAll(async () => {
    await runtime.cleanupOrphans(agentId);
  });

  async function render(params: unknown): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    await runtime.putFiles(container.id, [
      { path: "/golem/work/params.json", source: Buffer.from(JSON.stringify(params)) },
    ]);
    return runtime.exec(container.id, ["/golem/entrypoints/render.sh"], { timeoutMs: 90_000 });
  }

  async function frame(n: number): Promise<Buffer> {
    const name = `/golem/output/frame-${String(n).padStart(4, "0")}.png`;
    return readAll(await runtime.getFile(container.id, name, { maxBytes: 16 * MiB }));
  }

  it("declares the golem volumes and runs as a non-root user", () => {
    expect([...container.volumes].sort()).toEqual(["/golem/output", "/golem/resource", "/golem/work"]);
    expect(container.user).toBe("1000:1000");
  });

  it("renders frame 7 of 24 to /golem/output/frame-0007.png at the asked size", async () => {
    const r = await render({
      scene: "/golem/resource/scene.pov",
      frame: 7,
      frames: 24,
      width: 320,
      height: 240,
      quality: 9,
      antialias: true,
    });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/rendered \/golem\/output\/frame-0007\.png \(320x240/);
    expect(pngSize(await frame(7))).toEqual({ width: 320, height: 240 });
  });

  it("sets the animation clock from frame/frames: different frames differ", async () => {
    expect((await render({ frame: 0, frames: 24, width: 160, height: 120 })).exitCode).toBe(0);
    expect((await render({ frame: 12, frames: 24, width: 160, height: 120 })).exitCode).toBe(0);
    const [a, b] = [await frame(0), await frame(12)];
    expect(pngSize(a)).toEqual({ width: 160, height: 120 });
    expect(a.equals(b)).toBe(false);
  });

  it.each([
    [{ frames: 4 }, "frame is required"],
    [{ frame: 4, frames: 4 }, "frame must be an integer from 0 to 3, got 4"],
    [{ frame: 0, width: "wide" }, 'width must be an integer from 1 to 8192, got "wide"'],
    [{ frame: 0, antialias: "yes" }, 'antialias must be true or false, got "yes"'],
    [{ frame: 0, scene: "/golem/resource/missing.pov" }, "scene /golem/resource/missing.pov does not exist"],
    [[1, 2], "params must be a JSON object"],
  ])("refuses bad params %j: exit 2 and the reason on stderr", async (params, reason) => {
    const r = await render(params);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(reason);
  });

  it("fails (exit 1, POV-Ray's error on stderr) when the scene does not parse", async () => {
    await runtime.putFiles(container.id, [
      { path: "/golem/resource/broken.pov", source: Buffer.from("sphere { <0,0,0> }\n") },
    ]);
    const r = await render({ frame: 0, scene: "/golem/resource/broken.pov" });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Parse Error[\s\S]*povray failed on \/golem\/resource\/broken\.pov/);
  });
});

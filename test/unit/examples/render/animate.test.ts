import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GifReader } from "omggif";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { contactSheet, encodeGif, writeAnimation } from "../../../../examples/render/animate.js";
import { checkPngFile, encodePng, type RgbaImage } from "../../../../examples/render/png-check.js";
import { BLUE, GREEN, RED, solid } from "./fixtures.js";

/** Decode every frame of a GIF (omggif) into RGBA. */
function decodeGif(bytes: Uint8Array): { reader: GifReader; frames: RgbaImage[] } {
  const reader = new GifReader(Buffer.from(bytes));
  const frames: RgbaImage[] = [];
  for (let i = 0; i < reader.numFrames(); i++) {
    const data = new Uint8Array(reader.width * reader.height * 4);
    reader.decodeAndBlitFrameRGBA(i, data);
    frames.push({ width: reader.width, height: reader.height, data });
  }
  return { reader, frames };
}

function pixel(img: RgbaImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * 4;
  return [...img.data.subarray(o, o + 4)];
}

describe("encodeGif", () => {
  it("holds every frame, in order, at its size, looping, with the delay", () => {
    const { reader, frames } = decodeGif(
      encodeGif([solid(5, 4, RED), solid(5, 4, GREEN), solid(5, 4, BLUE)], { delayMs: 250 }),
    );
    expect(reader.width).toBe(5);
    expect(reader.height).toBe(4);
    expect(frames.map((f) => pixel(f, 2, 2))).toEqual([[...RED], [...GREEN], [...BLUE]]);
    expect(reader.frameInfo(1).delay).toBe(25); // hundredths of a second
    expect(reader.loopCount()).toBe(0); // forever
  });

  it("refuses no frames and frames of different sizes", () => {
    expect(() => encodeGif([])).toThrow("no frames to assemble");
    expect(() => encodeGif([solid(5, 4, RED), solid(4, 5, RED)])).toThrow("frame 1 is 4×5, frame 0 is 5×4");
  });
});

describe("contactSheet", () => {
  it("lays frames out in a grid with gaps", () => {
    const sheet = contactSheet([solid(3, 2, RED), solid(3, 2, GREEN), solid(3, 2, BLUE)], {
      columns: 2,
      gap: 1,
      background: [0, 0, 0, 255],
    });
    expect([sheet.width, sheet.height]).toEqual([2 * 3 + 3, 2 * 2 + 3]);
    expect(pixel(sheet, 0, 0)).toEqual([0, 0, 0, 255]);
    expect(pixel(sheet, 1, 1)).toEqual([...RED]);
    expect(pixel(sheet, 5, 2)).toEqual([...GREEN]);
    expect(pixel(sheet, 1, 4)).toEqual([...BLUE]);
    expect(pixel(sheet, 5, 4)).toEqual([0, 0, 0, 255]); // the empty fourth cell
  });
});

describe("writeAnimation", () => {
  let dir: string;
  let files: string[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "agora-anim-"));
    files = [];
    for (const [i, c] of [RED, GREEN].entries()) {
      const f = join(dir, `frame-000${i}.png`);
      await writeFile(f, encodePng(solid(6, 4, c)));
      files.push(f);
    }
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a GIF for .gif and a contact-sheet PNG for .png", async () => {
    await writeAnimation(files, join(dir, "animation.gif"));
    const { frames } = decodeGif(await readFile(join(dir, "animation.gif")));
    expect(frames.map((f) => pixel(f, 0, 0))).toEqual([[...RED], [...GREEN]]);

    await writeAnimation(files, join(dir, "sheet.png"), { gap: 0 });
    const sheet = await checkPngFile(join(dir, "sheet.png"), { width: 12, height: 4 });
    expect(sheet.ok).toBe(true);
  });

  it("refuses a bad frame with its reason, and an unknown format", async () => {
    await writeFile(files[1]!, "not a png");
    await expect(writeAnimation(files, join(dir, "a.gif"))).rejects.toThrow(`${files[1]}: not a PNG`);
    await expect(writeAnimation(files, join(dir, "a.webp"))).rejects.toThrow(/name it \.gif .* or \.png/);
  });
});

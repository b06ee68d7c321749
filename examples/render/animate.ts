/**
 * Frames → an animated GIF (gifenc: palette quantization and LZW encoding) or a contact sheet
 * (one PNG with the frames in a grid, pngjs). Frames must all have the same size.
 */
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type * as Gifenc from "gifenc";
import { encodePng, readPng, type RgbaImage } from "./png-check.js";

// gifenc's ESM and CommonJS builds disagree on the default export; its CommonJS build is the
// same under Node and under the test runner.
const gifenc = createRequire(import.meta.url)("gifenc") as typeof Gifenc;

export interface GifOptions {
  /** Time each frame shows. @default 100 */
  readonly delayMs?: number;
  /** Play forever (else once). @default true */
  readonly loop?: boolean;
}

export interface SheetOptions {
  /** Frames a row. @default ceil(√frames) */
  readonly columns?: number;
  /** Pixels between frames and around them. @default 4 */
  readonly gap?: number;
  /** RGBA of the background. @default dark grey */
  readonly background?: readonly [number, number, number, number];
}

function sameSize(frames: readonly RgbaImage[]): { width: number; height: number } {
  const first = frames[0];
  if (!first) throw new RangeError("no frames to assemble");
  frames.forEach((f, i) => {
    if (f.width !== first.width || f.height !== first.height)
      throw new RangeError(`frame ${i} is ${f.width}×${f.height}, frame 0 is ${first.width}×${first.height}`);
    if (f.data.byteLength !== f.width * f.height * 4)
      throw new RangeError(`frame ${i} holds ${f.data.byteLength} bytes, not ${f.width}×${f.height} RGBA`);
  });
  return { width: first.width, height: first.height };
}

/** An animated GIF of `frames`, each with its own 256-colour palette. */
export function encodeGif(frames: readonly RgbaImage[], opts: GifOptions = {}): Uint8Array {
  const { width, height } = sameSize(frames);
  const gif = gifenc.GIFEncoder();
  for (const frame of frames) {
    const palette = gifenc.quantize(frame.data, 256);
    gif.writeFrame(gifenc.applyPalette(frame.data, palette), width, height, {
      palette,
      delay: opts.delayMs ?? 100,
      repeat: opts.loop === false ? -1 : 0,
    });
  }
  gif.finish();
  return gif.bytes();
}

/** The frames in a grid, left to right then top to bottom, as RGBA. */
export function contactSheet(frames: readonly RgbaImage[], opts: SheetOptions = {}): RgbaImage {
  const { width, height } = sameSize(frames);
  const columns = opts.columns ?? Math.ceil(Math.sqrt(frames.length));
  if (!Number.isSafeInteger(columns) || columns < 1)
    throw new RangeError(`columns must be ≥ 1, got ${columns}`);
  const gap = opts.gap ?? 4;
  const rows = Math.ceil(frames.length / columns);
  const sheetWidth = columns * width + (columns + 1) * gap;
  const sheetHeight = rows * height + (rows + 1) * gap;
  const data = new Uint8Array(sheetWidth * sheetHeight * 4);
  const bg = opts.background ?? [32, 32, 32, 255];
  for (let p = 0; p < data.length; p += 4) data.set(bg, p);
  frames.forEach((f, i) => {
    const x0 = gap + (i % columns) * (width + gap);
    const y0 = gap + Math.floor(i / columns) * (height + gap);
    for (let y = 0; y < height; y++)
      data.set(f.data.subarray(y * width * 4, (y + 1) * width * 4), ((y0 + y) * sheetWidth + x0) * 4);
  });
  return { width: sheetWidth, height: sheetHeight, data };
}

/** Read the PNG frames (in order) and write an animated GIF to `out`. */
export async function writeGif(files: readonly string[], out: string, opts: GifOptions = {}): Promise<void> {
  const frames = [];
  for (const f of files) frames.push(await readPng(f));
  await writeFile(out, encodeGif(frames, opts));
}

/** Read the PNG frames (in order) and write a contact-sheet PNG to `out`. */
export async function writeContactSheet(
  files: readonly string[],
  out: string,
  opts: SheetOptions = {},
): Promise<void> {
  const frames = [];
  for (const f of files) frames.push(await readPng(f));
  await writeFile(out, encodePng(contactSheet(frames, opts)));
}

/**
 * Assemble the PNG frames (in order) into `out`: an animated GIF when it ends in `.gif`, a
 * contact sheet when it ends in `.png`.
 */
export async function writeAnimation(
  files: readonly string[],
  out: string,
  opts: GifOptions & SheetOptions = {},
): Promise<void> {
  const lower = out.toLowerCase();
  if (lower.endsWith(".gif")) return writeGif(files, out, opts);
  if (lower.endsWith(".png")) return writeContactSheet(files, out, opts);
  throw new RangeError(`cannot tell the format of ${out}: name it .gif (animation) or .png (contact sheet)`);
}

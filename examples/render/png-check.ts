/**
 * Checks of a rendered frame: is the file a PNG that decodes, of the asked width × height? The
 * decoding is pngjs's (signature, chunk CRCs, zlib data, filters); a failure says why, so a worker
 * can reject the result with a reason the requestor reads.
 */
import { readFile, stat } from "node:fs/promises";
import { PNG } from "pngjs";

/** Refuse files larger than this before reading them. @default 64 MiB */
export const MAX_PNG_BYTES = 64 * 1024 * 1024;
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A decoded image: RGBA, 4 bytes a pixel, row after row. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export interface ExpectedSize {
  readonly width: number;
  readonly height: number;
}

export type PngCheck =
  { readonly ok: true; readonly image: RgbaImage } | { readonly ok: false; readonly reason: string };

/** Decode PNG bytes, or say why they are not a valid PNG (of `expected` size, when given). */
export function checkPngBytes(bytes: Uint8Array, expected?: ExpectedSize): PngCheck {
  if (bytes.byteLength === 0) return { ok: false, reason: "the file is empty" };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < SIGNATURE.length || !buf.subarray(0, SIGNATURE.length).equals(SIGNATURE))
    return {
      ok: false,
      reason: `not a PNG (starts with ${buf.subarray(0, 8).toString("hex") || "nothing"})`,
    };
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (err) {
    return {
      ok: false,
      reason: `the PNG does not decode: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  if (expected && (png.width !== expected.width || png.height !== expected.height))
    return {
      ok: false,
      reason: `the PNG is ${png.width}×${png.height}, expected ${expected.width}×${expected.height}`,
    };
  return { ok: true, image: { width: png.width, height: png.height, data: png.data } };
}

/** Read and check a PNG file (capped at `MAX_PNG_BYTES`). */
export async function checkPngFile(path: string, expected?: ExpectedSize): Promise<PngCheck> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    const code = err instanceof Error && "code" in err ? String(err.code) : "";
    return {
      ok: false,
      reason: code === "ENOENT" ? `no file ${path}` : `cannot read ${path}: ${String(err)}`,
    };
  }
  if (size > MAX_PNG_BYTES)
    return { ok: false, reason: `the file is ${size} bytes, more than a frame may be (${MAX_PNG_BYTES})` };
  return checkPngBytes(await readFile(path), expected);
}

/** What is wrong with the PNG at `path` for `expected`, or `undefined` when it is good. */
export async function checkPng(path: string, expected: ExpectedSize): Promise<string | undefined> {
  const r = await checkPngFile(path, expected);
  return r.ok ? undefined : r.reason;
}

/** Read a PNG that must be valid. @throws Error with the reason otherwise. */
export async function readPng(path: string, expected?: ExpectedSize): Promise<RgbaImage> {
  const r = await checkPngFile(path, expected);
  if (!r.ok) throw new Error(`${path}: ${r.reason}`);
  return r.image;
}

/** Encode RGBA pixels as a PNG. */
export function encodePng(image: RgbaImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return PNG.sync.write(png);
}

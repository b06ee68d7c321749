/** Small RGBA frames for the render-helper tests. */
import type { RgbaImage } from "../../../../examples/render/png-check.js";

/** A `width`×`height` frame of one colour. */
export function solid(
  width: number,
  height: number,
  rgba: readonly [number, number, number, number],
): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < data.length; p += 4) data.set(rgba, p);
  return { width, height, data };
}

export const RED = [255, 0, 0, 255] as const;
export const GREEN = [0, 255, 0, 255] as const;
export const BLUE = [0, 0, 255, 255] as const;

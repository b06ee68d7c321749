// Types for the parts of gifenc (https://github.com/mattdesl/gifenc, MIT) that animate.ts uses;
// the package ships none. Its CommonJS build exports these names (animate.ts loads it with require).
declare module "gifenc" {
  export type Palette = number[][];
  export type ColorFormat = "rgb565" | "rgb444" | "rgba4444";

  export interface QuantizeOptions {
    readonly format?: ColorFormat;
    readonly oneBitAlpha?: boolean | number;
  }

  export interface WriteFrameOptions {
    readonly palette?: Palette;
    readonly delay?: number;
    /** 0 = loop forever, -1 = play once, n = repeat n times. */
    readonly repeat?: number;
    readonly transparent?: boolean;
    readonly transparentIndex?: number;
    readonly dispose?: number;
  }

  export interface Encoder {
    writeFrame(index: Uint8Array, width: number, height: number, opts?: WriteFrameOptions): void;
    finish(): void;
    bytes(): Uint8Array;
  }

  export function GIFEncoder(opts?: { readonly auto?: boolean; readonly initialCapacity?: number }): Encoder;
  export function quantize(
    rgba: Uint8Array | Uint8ClampedArray,
    maxColors: number,
    opts?: QuantizeOptions,
  ): Palette;
  export function applyPalette(
    rgba: Uint8Array | Uint8ClampedArray,
    palette: Palette,
    format?: ColorFormat,
  ): Uint8Array;
}

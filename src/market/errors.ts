/** Errors of the market domain (all are `MarketError`s, code `MARKET_ERROR`). */
import { MarketError, type AgoraErrorOptions } from "../errors.js";

/** How much of the input the caret line shows on each side of the bad position. */
const SNIPPET_RADIUS = 40;

/**
 * A constraint filter that does not parse. The message names the 0-based position and shows the
 * input with a caret under it:
 *
 * ```text
 * constraint parse error at 14: expected ')' but found 'x'
 *   (&(a=1)(b>=2)x
 *                ^
 * ```
 */
export class ConstraintParseError extends MarketError {
  /** 0-based offset of the problem in `input`. */
  readonly position: number;
  readonly input: string;
  /** The problem without position and snippet, e.g. `expected ')' but found 'x'`. */
  readonly detail: string;

  constructor(input: string, position: number, detail: string, options: AgoraErrorOptions = {}) {
    super(`constraint parse error at ${position}: ${detail}\n${caretLines(input, position)}`, options);
    this.input = input;
    this.position = position;
    this.detail = detail;
  }
}

function caretLines(input: string, position: number): string {
  const start = Math.max(0, position - SNIPPET_RADIUS);
  const end = Math.min(input.length, position + SNIPPET_RADIUS);
  const prefix = start > 0 ? "…" : "";
  const suffix = end < input.length ? "…" : "";
  const shown = input.slice(start, end).replace(/[\r\n\t]/g, " ");
  return `  ${prefix}${shown}${suffix}\n  ${" ".repeat(prefix.length + position - start)}^`;
}

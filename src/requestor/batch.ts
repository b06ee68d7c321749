/**
 * A batch of commands for one activity (Golem exe-script style): send bytes, JSON or a file into a
 * volume, run, download bytes or a file, start, terminate. Built here, sent by ActivityClient.
 */
import { UserError } from "../errors.js";

/** Where upload bytes come from. */
export type UploadSource = { readonly bytes: Uint8Array } | { readonly file: string };

/** One step of a batch, as the requestor describes it. */
export type BatchStep =
  | { readonly kind: "deploy" }
  | { readonly kind: "start" }
  | { readonly kind: "terminate" }
  | {
      readonly kind: "run";
      readonly entryPoint: string;
      readonly args: readonly string[];
      readonly env?: Readonly<Record<string, string>>;
    }
  | { readonly kind: "upload"; readonly source: UploadSource; readonly to: string }
  | { readonly kind: "download"; readonly from: string; readonly toFile?: string };

export class Batch {
  readonly #steps: BatchStep[] = [];

  /** The steps, in order. */
  get steps(): readonly BatchStep[] {
    return this.#steps;
  }

  deploy(): this {
    return this.#add({ kind: "deploy" });
  }

  start(): this {
    return this.#add({ kind: "start" });
  }

  terminate(): this {
    return this.#add({ kind: "terminate" });
  }

  /** Run `entryPoint args…` in the container (a shell string: `run("/bin/sh", "-c", "…")`). */
  run(entryPoint: string, ...args: string[]): this {
    return this.#add({ kind: "run", entryPoint, args });
  }

  /** Run with extra environment variables. */
  runWithEnv(env: Readonly<Record<string, string>>, entryPoint: string, ...args: string[]): this {
    return this.#add({ kind: "run", entryPoint, args, env });
  }

  /** Put `bytes` at `to` (absolute, inside a volume). */
  sendBytes(bytes: Uint8Array | string, to: string): this {
    const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    return this.#add({ kind: "upload", source: { bytes: data }, to });
  }

  /** Put `value` as JSON at `to`. */
  sendJson(value: unknown, to: string): this {
    return this.sendBytes(JSON.stringify(value), to);
  }

  /** Put the local file `path` at `to`. */
  sendFile(path: string, to: string): this {
    return this.#add({ kind: "upload", source: { file: path }, to });
  }

  /** Fetch the container file `from`; its bytes come back in the step's result. */
  downloadBytes(from: string): this {
    return this.#add({ kind: "download", from });
  }

  /** Fetch the container file `from` into the local file `toFile`. */
  downloadFile(from: string, toFile: string): this {
    return this.#add({ kind: "download", from, toFile });
  }

  #add(step: BatchStep): this {
    if (this.#steps.length >= 256) throw new UserError("a batch holds at most 256 commands");
    this.#steps.push(step);
    return this;
  }
}

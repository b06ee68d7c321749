/**
 * What a worker sees of its provider: a batch under construction (`sendFile`, `run`, `downloadJson`,
 * …) and `commit()`, which hands the queued steps to the Executor. `yield ctx.commit()` sends the
 * batch; the value sent back into the generator is its results.
 */
import type { Logger } from "pino";
import { UserError } from "../errors.js";
import { Batch } from "./batch.js";

/** One command's outcome, as the worker gets it back from `yield ctx.commit()`. */
export interface CommandOutput {
  readonly index: number;
  /** The step, e.g. `run /bin/sh -c …` or `download /golem/output/x`. */
  readonly command: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** `downloadBytes`: the file's bytes. */
  readonly bytes?: Uint8Array;
  /** `downloadJson`: the parsed file. */
  readonly json?: unknown;
  /** `downloadFile`: the local path written. */
  readonly file?: string;
}

export type BatchResults = readonly CommandOutput[];

export interface CommitOptions {
  /** The provider stops the batch after this long. @default 60_000 */
  readonly timeout?: number;
}

/** What `ctx.commit()` returns: yield it to the executor. */
export class PendingBatch {
  readonly batch: Batch;
  /** Labels of the steps, in order. */
  readonly labels: readonly string[];
  /** Indices of the `downloadJson` steps. */
  readonly jsonSteps: ReadonlySet<number>;
  readonly timeoutMs: number;

  constructor(batch: Batch, labels: readonly string[], jsonSteps: ReadonlySet<number>, timeoutMs: number) {
    this.batch = batch;
    this.labels = labels;
    this.jsonSteps = jsonSteps;
    this.timeoutMs = timeoutMs;
  }
}

export interface RunOptions {
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
}

export class WorkContext {
  /** The provider's name (from its offer). */
  readonly providerName: string;
  readonly providerId: string;
  readonly agreementId: string;
  readonly activityId: string;
  /** Aborted when this worker must stop (run over, provider lost, shutdown). */
  readonly signal: AbortSignal;
  /** A child logger carrying the agreement, activity and provider. */
  readonly log: Logger;
  #batch = new Batch();
  #labels: string[] = [];
  #json = new Set<number>();

  constructor(opts: {
    providerName: string;
    providerId: string;
    agreementId: string;
    activityId: string;
    signal: AbortSignal;
    log: Logger;
  }) {
    this.providerName = opts.providerName;
    this.providerId = opts.providerId;
    this.agreementId = opts.agreementId;
    this.activityId = opts.activityId;
    this.signal = opts.signal;
    this.log = opts.log;
  }

  /** Put the local file `localPath` at `remotePath` (inside a volume, e.g. `/golem/resource/x`). */
  sendFile(localPath: string, remotePath: string): this {
    this.#batch.sendFile(localPath, remotePath);
    return this.#label(`send ${remotePath}`);
  }

  /** Put `data` (bytes or a UTF-8 string) at `remotePath`. */
  sendBytes(remotePath: string, data: Uint8Array | string): this {
    this.#batch.sendBytes(data, remotePath);
    return this.#label(`send ${remotePath}`);
  }

  /** Put `value` as JSON at `remotePath`. */
  sendJson(remotePath: string, value: unknown): this {
    this.#batch.sendJson(value, remotePath);
    return this.#label(`send ${remotePath}`);
  }

  /**
   * Run a command: a string runs with `/bin/sh -c`, an array is `[entryPoint, ...args]` as is.
   * A non-zero exit ends the batch: `CommandExecutionError` is thrown into the worker.
   */
  run(command: string | readonly string[], opts: RunOptions = {}): this {
    const argv = typeof command === "string" ? ["/bin/sh", "-c", command] : [...command];
    const [entryPoint, ...args] = argv;
    if (entryPoint === undefined || entryPoint === "")
      throw new UserError("run() needs a command (a string or a non-empty argv array)");
    if (opts.env) this.#batch.runWithEnv(opts.env, entryPoint, ...args);
    else this.#batch.run(entryPoint, ...args);
    return this.#label(typeof command === "string" ? command : argv.join(" "));
  }

  /** Fetch `remotePath` into the local file `localPath`. */
  downloadFile(remotePath: string, localPath: string): this {
    this.#batch.downloadFile(remotePath, localPath);
    return this.#label(`download ${remotePath}`);
  }

  /** Fetch `remotePath`; its bytes are the step's `bytes` in the results. */
  downloadBytes(remotePath: string): this {
    this.#batch.downloadBytes(remotePath);
    return this.#label(`download ${remotePath}`);
  }

  /** Fetch `remotePath` and parse it as JSON; the value is the step's `json` in the results. */
  downloadJson(remotePath: string): this {
    this.#batch.downloadBytes(remotePath);
    this.#json.add(this.#labels.length);
    return this.#label(`download ${remotePath}`);
  }

  /** Close the batch queued so far; `yield` what this returns to run it. */
  commit(opts: CommitOptions = {}): PendingBatch {
    const timeout = opts.timeout ?? 60_000;
    if (!Number.isInteger(timeout) || timeout <= 0 || timeout > 86_400_000)
      throw new UserError(
        `commit({ timeout }) must be a whole number of ms in (0, 86400000], got ${timeout}`,
      );
    const pending = new PendingBatch(this.#batch, this.#labels, this.#json, timeout);
    this.#batch = new Batch();
    this.#labels = [];
    this.#json = new Set();
    return pending;
  }

  #label(label: string): this {
    this.#labels.push(label);
    return this;
  }
}

/**
 * One activity = one hardened container (DESIGN §8), with the state machine
 * `New → Deployed → Ready → Terminated`, and the running of its batches: one batch at a time,
 * every command reported to the requestor (started, stdout/stderr chunks, finished), then `done`.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import type { Logger } from "pino";
import { AgoraError, TimeoutError, UserError } from "../errors.js";
import type { ActivityStateName, BatchEventBody, Command, NodeId } from "../protocol/index.js";
import type { ContainerInfo, ContainerRuntime } from "./runtime/index.js";
import { receiveStream, type SignedNode, type StreamSender } from "../transport/index.js";
import { describeCommand, planBatch, type PlannedCommand } from "./batch-plan.js";

export interface ActivityContext {
  readonly node: SignedNode;
  readonly sender: StreamSender;
  readonly runtime: ContainerRuntime;
  readonly logger: Logger;
  /** Where downloads wait (as files) for the requestor to pull them. */
  readonly spoolDir: string;
  /** Largest upload or download, bytes. */
  readonly maxTransferBytes: number;
  /** The activity reached `Terminated` (once). */
  readonly ended: (activity: Activity) => void;
  /** A started container is about to be removed (its final usage can still be read). Must not throw. */
  readonly beforeDestroy?: (activity: Activity, containerId: string) => Promise<void>;
  /** Send one batch event to the requestor. */
  readonly emit: (
    requestorId: NodeId,
    body: { activityId: string; batchId: string; index: number; event: BatchEventBody },
  ) => void;
}

/** Longest text one output event carries (the schema allows 64 KiB). */
const MAX_EVENT_TEXT = 60_000;
/** Output of one command streamed to the requestor, per stream; the rest is dropped (and said so). */
const MAX_STREAMED_OUTPUT = 1024 * 1024;

/** Turns a command's output chunks into events: whole UTF-8 characters, bounded per stream. */
class OutputRelay {
  readonly #decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
  readonly #bytes = { stdout: 0, stderr: 0 };
  readonly #emit: (event: BatchEventBody) => void;

  constructor(emit: (event: BatchEventBody) => void) {
    this.#emit = emit;
  }

  push(stream: "stdout" | "stderr", chunk: Uint8Array): void {
    const before = this.#bytes[stream];
    this.#bytes[stream] += chunk.byteLength;
    if (before >= MAX_STREAMED_OUTPUT) return;
    const room = MAX_STREAMED_OUTPUT - before;
    this.#send(stream, this.#decoders[stream].write(Buffer.from(chunk.subarray(0, room))));
    if (chunk.byteLength > room)
      this.#emit({ kind: "stderr", data: `\n[agora: ${stream} cut after ${MAX_STREAMED_OUTPUT} bytes]\n` });
  }

  end(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.#bytes[stream] <= MAX_STREAMED_OUTPUT) this.#send(stream, this.#decoders[stream].end());
    }
  }

  #send(stream: "stdout" | "stderr", text: string): void {
    for (let i = 0; i < text.length; i += MAX_EVENT_TEXT)
      this.#emit({ kind: stream, data: text.slice(i, i + MAX_EVENT_TEXT) });
  }
}

export class Activity {
  readonly id: string;
  readonly agreementId: string;
  readonly requestorId: NodeId;
  #state: ActivityStateName = "New";
  #container: ContainerInfo | undefined;
  #batch: { id: string; controller: AbortController; done: Promise<void> } | undefined;
  readonly #ctx: ActivityContext;

  constructor(ctx: ActivityContext, ids: { id: string; agreementId: string; requestorId: NodeId }) {
    this.#ctx = ctx;
    this.id = ids.id;
    this.agreementId = ids.agreementId;
    this.requestorId = ids.requestorId;
  }

  get state(): ActivityStateName {
    return this.#state;
  }

  /** The container while it exists and is running (`Ready`). */
  get runningContainer(): string | undefined {
    return this.#state === "Ready" ? this.#container?.id : undefined;
  }

  /** The batch running now, if any. */
  get runningBatch(): string | undefined {
    return this.#batch?.id;
  }

  /** The container was created: `New → Deployed`. */
  deployed(container: ContainerInfo): void {
    if (this.#state !== "New") throw new UserError(`activity ${this.id} is ${this.#state}, not New`);
    this.#container = container;
    this.#state = "Deployed";
  }

  /**
   * Check and start a batch; resolves once it is accepted (the batch runs on, reporting events).
   * @throws UserError / PathOutsideVolumesError before any engine call when the batch is refused.
   */
  exec(batchId: string, commands: readonly Command[], timeoutMs: number): void {
    if (this.#state === "Terminated") throw new UserError(`activity ${this.id} is terminated`);
    if (this.#batch) throw new UserError(`activity ${this.id} is running batch ${this.#batch.id}`);
    const plan = planBatch(commands, this.#container?.volumes ?? []);
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]);
    const batch = { id: batchId, controller, done: Promise.resolve() };
    this.#batch = batch;
    batch.done = this.#run(batchId, commands, plan, signal, timeoutMs).finally(() => {
      if (this.#batch === batch) this.#batch = undefined;
    });
  }

  /** Stop the running batch `batchId`. @throws UserError when it is not running. */
  cancel(batchId: string, reason = "cancelled by the requestor"): void {
    if (this.#batch?.id !== batchId)
      throw new UserError(`batch ${batchId} is not running on activity ${this.id}`);
    this.#batch.controller.abort(new UserError(reason));
  }

  /** Remove the container: `→ Terminated`, stopping a running batch. Safe to call twice. */
  async destroy(reason = "destroyed"): Promise<void> {
    await this.#terminate(reason, true);
  }

  async #terminate(reason: string, waitForBatch: boolean): Promise<void> {
    if (this.#state === "Terminated") return;
    const started = this.#state === "Ready";
    this.#state = "Terminated";
    const batch = this.#batch;
    const container = this.#container;
    this.#container = undefined;
    try {
      if (waitForBatch) batch?.controller.abort(new UserError(`activity ${this.id} ${reason}`));
      if (container && started) await this.#ctx.beforeDestroy?.(this, container.id);
      if (container) await this.#ctx.runtime.destroy(container.id);
      if (waitForBatch && batch) await batch.done;
    } finally {
      this.#ctx.ended(this);
    }
  }

  async #run(
    batchId: string,
    commands: readonly Command[],
    plan: readonly PlannedCommand[],
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<void> {
    const emit = (index: number, event: BatchEventBody): void =>
      this.#ctx.emit(this.requestorId, { activityId: this.id, batchId, index, event });
    let index = 0;
    try {
      for (; index < plan.length; index++) {
        const step = plan[index]!;
        signal.throwIfAborted();
        emit(index, { kind: "started", command: describeCommand(commands[index]!) });
        const outcome = await this.#step(step, signal, (event) => emit(index, event));
        emit(index, outcome);
        if (outcome.exitCode !== 0) {
          emit(plan.length, {
            kind: "done",
            ok: false,
            message: `command ${index} exited with code ${outcome.exitCode}`,
          });
          return;
        }
      }
      emit(plan.length, { kind: "done", ok: true });
    } catch (err) {
      const why = signal.aborted ? abortMessage(signal.reason, timeoutMs) : publicMessage(err);
      this.#ctx.logger.debug({ err, activityId: this.id, batchId, index }, "batch failed");
      if (index < plan.length) emit(index, { kind: "finished", exitCode: -1, message: why.slice(0, 1024) });
      emit(plan.length, { kind: "done", ok: false, message: `command ${index}: ${why}`.slice(0, 1024) });
    }
  }

  async #step(
    step: PlannedCommand,
    signal: AbortSignal,
    output: (event: BatchEventBody) => void,
  ): Promise<Extract<BatchEventBody, { kind: "finished" }>> {
    const { runtime } = this.#ctx;
    switch (step.kind) {
      case "deploy":
        if (this.#state === "New") throw new UserError("the activity has no container yet");
        return { kind: "finished", exitCode: 0 };
      case "start":
        if (this.#state === "Deployed") {
          await runtime.start(this.#containerId());
          this.#state = "Ready";
        }
        return { kind: "finished", exitCode: 0 };
      case "terminate":
        await this.#terminate("terminated by its batch", false);
        return { kind: "finished", exitCode: 0 };
      case "run": {
        const relay = new OutputRelay(output);
        const r = await runtime.exec(this.#readyContainer(), step.argv, {
          signal,
          ...(step.env ? { env: step.env } : {}),
          onOutput: (stream, chunk) => relay.push(stream, chunk),
        });
        relay.end();
        return { kind: "finished", exitCode: r.exitCode };
      }
      case "upload": {
        const { offer } = step;
        if (offer.size > this.#ctx.maxTransferBytes)
          throw new UserError(
            `upload of ${offer.size} bytes is above the limit of ${this.#ctx.maxTransferBytes}`,
          );
        const container = this.#readyContainer();
        const stream = receiveStream({ node: this.#ctx.node, from: this.requestorId, offer, signal });
        await runtime.putFiles(container, [{ path: step.path, source: { stream, size: offer.size } }], {
          signal,
        });
        return { kind: "finished", exitCode: 0 };
      }
      case "download": {
        const file = await runtime.getFile(this.#readyContainer(), step.path, {
          maxBytes: this.#ctx.maxTransferBytes,
          signal,
        });
        // Spooled to a file first: a stream offer names its exact size, and memory stays bounded.
        const spool = join(this.#ctx.spoolDir, `download-${randomUUID()}`);
        let size: number;
        try {
          await mkdir(this.#ctx.spoolDir, { recursive: true });
          await pipeline(file, createWriteStream(spool, { mode: 0o600 }), { signal });
          size = (await stat(spool)).size;
        } catch (err) {
          await rm(spool, { force: true });
          throw err;
        }
        const source = createReadStream(spool, { highWaterMark: 512 * 1024 });
        source.once("close", () => void rm(spool, { force: true }));
        const download = this.#ctx.sender.offer(source, { to: this.requestorId, size });
        return { kind: "finished", exitCode: 0, download };
      }
    }
  }

  #containerId(): string {
    if (!this.#container) throw new UserError(`activity ${this.id} has no container (${this.#state})`);
    return this.#container.id;
  }

  #readyContainer(): string {
    if (this.#state !== "Ready") throw new UserError(`activity ${this.id} is ${this.#state}: start it first`);
    return this.#containerId();
  }
}

/** What the requestor may read of an error (our own messages; nothing of other errors). */
export function publicMessage(err: unknown): string {
  return err instanceof AgoraError ? err.message : "the provider failed (internal error)";
}

function abortMessage(reason: unknown, timeoutMs: number): string {
  if (reason instanceof DOMException && reason.name === "TimeoutError")
    return new TimeoutError(`the batch timed out after ${timeoutMs} ms`).message;
  return publicMessage(reason);
}

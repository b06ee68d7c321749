/**
 * The requestor's side of activities: create one on an agreement, run batches (uploads offered as
 * pull-based streams, command events as they come, downloads pulled when offered), cancel,
 * destroy. Batch events arrive on `agora.node.<self>.batch` and are routed by batch id.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import { pino } from "pino";
import { TimeoutError, toAbortError } from "../errors.js";
import { activitySubject, batchEventsSubject, type SignedAgreement } from "../market/index.js";
import type { BatchEventBody, Command, MessageBody, NodeId } from "../protocol/index.js";
import { receiveStream, type SignedNode, type StreamSender, type Subscription } from "../transport/index.js";
import type { Batch, BatchStep } from "./batch.js";
import { settleWithin } from "./bounded.js";

export interface ActivityHandle {
  readonly activityId: string;
  readonly agreementId: string;
  readonly providerId: NodeId;
}

/** Progress of a command, as it happens. */
export type CommandEvent =
  | { readonly type: "command.started"; readonly index: number; readonly command: string }
  | { readonly type: "command.stdout" | "command.stderr"; readonly index: number; readonly data: string }
  | {
      readonly type: "command.finished";
      readonly index: number;
      readonly exitCode: number;
      readonly message?: string;
    };

export interface CommandResult {
  readonly index: number;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly message?: string;
  /** A `downloadBytes` step's bytes. */
  readonly bytes?: Uint8Array;
  /** A `downloadFile` step's local file, once written. */
  readonly file?: string;
}

export interface BatchResult {
  readonly batchId: string;
  /** Every command ran and exited 0. */
  readonly ok: boolean;
  /** Why the batch stopped, when not ok. */
  readonly message?: string;
  readonly results: readonly CommandResult[];
}

export interface ExecOptions {
  /** The provider stops the batch after this long. @default 60_000 */
  readonly timeoutMs?: number;
  /** Cancel the batch (the provider is told). */
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: CommandEvent) => void;
  /** Largest download accepted. @default 256 MiB */
  readonly maxDownloadBytes?: number;
}

export interface ActivityClientOptions {
  readonly node: SignedNode;
  /** Offers the uploads. */
  readonly sender: StreamSender;
  /** @default silent */
  readonly logger?: Logger;
}

type EventBody = MessageBody<"BatchEvent">;

interface Waiter {
  readonly providerId: NodeId;
  readonly onEvent: (body: EventBody) => void;
}

/** Extra time, beyond the batch's own timeout, to wait for its `done` event. */
const DONE_GRACE_MS = 15_000;
/** Most characters of stdout (and of stderr) kept in a command's result. */
const MAX_CAPTURED_CHARS = 1024 * 1024;
/** How long a cancelled batch may take to stop before exec rejects anyway. */
const CANCEL_GRACE_MS = 10_000;

export class ActivityClient {
  readonly #node: SignedNode;
  readonly #sender: StreamSender;
  readonly #logger: Logger;
  readonly #waiters = new Map<string, Waiter>();
  readonly #sub: Subscription;

  constructor(opts: ActivityClientOptions) {
    this.#node = opts.node;
    this.#sender = opts.sender;
    this.#logger = opts.logger ?? pino({ level: "silent" });
    this.#sub = this.#node.subscribe(batchEventsSubject(this.#node.nodeId), (msg) => {
      if (msg.envelope.type !== "BatchEvent") return;
      const waiter = this.#waiters.get(msg.envelope.body.batchId);
      if (waiter?.providerId === msg.envelope.from) waiter.onEvent(msg.envelope.body);
    });
  }

  /** Create an activity: the provider fetches the image, verifies and deploys it (state Deployed). */
  async create(
    agreement: SignedAgreement,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<ActivityHandle> {
    const activityId = randomUUID();
    await this.#node.request(
      activitySubject(agreement.providerId),
      agreement.providerId,
      { type: "ActivityCreate", body: { agreementId: agreement.agreementId, activityId } },
      {
        timeoutMs: opts.timeoutMs ?? 300_000,
        ...(opts.signal ? { signal: opts.signal } : {}),
        expect: "ActivityState",
      },
    );
    return { activityId, agreementId: agreement.agreementId, providerId: agreement.providerId };
  }

  /** Run a batch to its end; a failed command ends it with `ok: false` and the reason. */
  async exec(activity: ActivityHandle, batch: Batch, opts: ExecOptions = {}): Promise<BatchResult> {
    const batchId = randomUUID();
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const uploads = new AbortController();
    const commands = await Promise.all(
      batch.steps.map((s) => this.#command(s, activity.providerId, uploads.signal)),
    );
    const results = batch.steps.map((_, index) => ({ index, exitCode: -1, stdout: "", stderr: "" }));
    const downloads: Promise<void>[] = [];
    let onDone!: (end: { ok: boolean; message?: string }) => void;
    const done = new Promise<{ ok: boolean; message?: string }>((resolve) => (onDone = resolve));
    this.#waiters.set(batchId, {
      providerId: activity.providerId,
      onEvent: (body) => {
        const r = results[body.index];
        const ev = body.event;
        if (ev.kind === "done")
          return onDone(ev.message === undefined ? { ok: ev.ok } : { ok: ev.ok, message: ev.message });
        if (!r) return;
        this.#record(r, ev, opts.onEvent);
        if (ev.kind === "finished" && ev.download) {
          const step = batch.steps[body.index];
          const toFile = step?.kind === "download" ? step.toFile : undefined;
          downloads.push(
            this.#download(activity.providerId, ev.download, r, toFile, opts.maxDownloadBytes, opts.signal),
          );
        }
      },
    });
    try {
      await this.#node.request(
        activitySubject(activity.providerId),
        activity.providerId,
        { type: "ActivityExec", body: { activityId: activity.activityId, batchId, commands, timeoutMs } },
        { timeoutMs: 30_000, ...(opts.signal ? { signal: opts.signal } : {}), expect: "Ack" },
      );
      const end = await this.#untilDone(done, timeoutMs + DONE_GRACE_MS, opts.signal, () =>
        this.cancel(activity, batchId, "cancelled by the requestor"),
      );
      // A cancelled batch may still report its end before the abort does: the abort wins.
      if (opts.signal?.aborted) throw toAbortError(opts.signal, "the batch");
      await Promise.all(downloads);
      return { batchId, ...end, results };
    } finally {
      this.#waiters.delete(batchId);
      uploads.abort();
    }
  }

  /** Ask the provider to stop a running batch. */
  async cancel(activity: ActivityHandle, batchId: string, reason?: string): Promise<void> {
    await this.#node.request(
      activitySubject(activity.providerId),
      activity.providerId,
      {
        type: "ActivityCancel",
        body: { activityId: activity.activityId, batchId, ...(reason ? { reason } : {}) },
      },
      { timeoutMs: 10_000, expect: "Ack" },
    );
  }

  /** Destroy the activity (its container is removed). */
  async destroy(activity: ActivityHandle, opts: { timeoutMs?: number } = {}): Promise<void> {
    await this.#node.request(
      activitySubject(activity.providerId),
      activity.providerId,
      { type: "ActivityDestroy", body: { activityId: activity.activityId } },
      { timeoutMs: opts.timeoutMs ?? 30_000, expect: "ActivityState" },
    );
  }

  close(): void {
    this.#sub.unsubscribe();
    this.#waiters.clear();
  }

  async #command(step: BatchStep, providerId: NodeId, signal: AbortSignal): Promise<Command> {
    switch (step.kind) {
      case "upload": {
        const { source, size } =
          "bytes" in step.source
            ? { source: Readable.from([step.source.bytes]), size: step.source.bytes.byteLength }
            : { source: createReadStream(step.source.file), size: (await stat(step.source.file)).size };
        const stream = this.#sender.offer(source, { to: providerId, size, signal });
        return { kind: "transfer", from: `stream:${stream.streamId}`, to: `container:${step.to}`, stream };
      }
      case "download":
        return { kind: "transfer", from: `container:${step.from}`, to: "stream:" };
      case "run":
        return {
          kind: "run",
          entryPoint: step.entryPoint,
          args: [...step.args],
          ...(step.env ? { env: { ...step.env } } : {}),
        };
      default:
        return { kind: step.kind };
    }
  }

  #record(
    r: Mutable<CommandResult>,
    ev: Exclude<BatchEventBody, { kind: "done" }>,
    onEvent: ExecOptions["onEvent"],
  ): void {
    let event: CommandEvent;
    switch (ev.kind) {
      case "started":
        event = { type: "command.started", index: r.index, command: ev.command };
        break;
      case "stdout":
      case "stderr":
        // Kept up to a cap (a provider decides how much it sends); every event still goes out.
        if (r[ev.kind].length < MAX_CAPTURED_CHARS)
          r[ev.kind] += ev.data.slice(0, MAX_CAPTURED_CHARS - r[ev.kind].length);
        event = { type: `command.${ev.kind}`, index: r.index, data: ev.data };
        break;
      case "finished":
        r.exitCode = ev.exitCode;
        if (ev.message !== undefined) r.message = ev.message;
        event = {
          type: "command.finished",
          index: r.index,
          exitCode: ev.exitCode,
          ...(ev.message ? { message: ev.message } : {}),
        };
        break;
    }
    try {
      onEvent?.(event);
    } catch (err) {
      this.#logger.warn({ err }, "an onEvent listener threw");
    }
  }

  async #download(
    providerId: NodeId,
    offer: NonNullable<Extract<BatchEventBody, { kind: "finished" }>["download"]>,
    r: Mutable<CommandResult>,
    toFile: string | undefined,
    maxBytes = 256 * 1024 * 1024,
    signal?: AbortSignal,
  ): Promise<void> {
    const stream = receiveStream({
      node: this.#node,
      from: providerId,
      offer,
      maxBytes,
      ...(signal ? { signal } : {}),
    });
    if (toFile !== undefined) {
      await pipeline(stream, createWriteStream(toFile));
      r.file = toFile;
      return;
    }
    const parts: Buffer[] = [];
    for await (const chunk of stream) parts.push(chunk as Buffer);
    r.bytes = new Uint8Array(Buffer.concat(parts));
  }

  async #untilDone<T>(
    done: Promise<T>,
    ms: number,
    signal: AbortSignal | undefined,
    cancel: () => Promise<void>,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`no end of the batch within ${ms} ms`)), ms);
      if (signal) {
        onAbort = () => {
          // Cancel, and give the provider a bounded while to stop it (so the activity is free
          // again when exec rejects); then fail with the abort either way.
          const aborted = toAbortError(signal, "the batch");
          const settle = (): void => reject(aborted);
          cancel()
            .then(() => settleWithin(done, CANCEL_GRACE_MS))
            .catch((err: unknown) => this.#logger.debug({ err }, "cancelling the batch failed"))
            .finally(settle);
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }
    });
    try {
      return await Promise.race([done, stop]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

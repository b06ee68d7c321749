/** Activity messages: the exe-unit lifecycle, batches of commands and their events (DESIGN §8). */
import { z } from "zod";
import { durationMsSchema, idSchema, shortText, text } from "./schema-common.js";
import { streamSchemas } from "./messages-stream.js";

const argSchema = z.string().max(4096);

/** One command of a batch (Golem exe-script style). */
export const commandSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("deploy") }),
  z.object({ kind: z.literal("start"), args: z.array(argSchema).max(256).optional() }),
  z.object({
    kind: z.literal("run"),
    entryPoint: z.string().min(1).max(4096),
    args: z.array(argSchema).max(1024),
    env: z.record(z.string().max(256), z.string().max(4096)).optional(),
  }),
  z.object({
    kind: z.literal("transfer"),
    /**
     * Upload: `from` = `stream:<streamId>` (bytes the requestor offers in `stream`), `to` =
     * `container:<absolute path>`. Download: `from` = `container:<absolute path>`, `to` =
     * `stream:` — the provider offers the file back in the command's `finished` event.
     */
    from: z.string().min(1).max(4096),
    to: z.string().min(1).max(4096),
    stream: streamSchemas.StreamOffer.optional(),
  }),
  z.object({ kind: z.literal("terminate") }),
]);
export type Command = z.infer<typeof commandSchema>;

export const activityStates = ["New", "Deployed", "Ready", "Terminated"] as const;
export type ActivityStateName = (typeof activityStates)[number];

const batchEventSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("started"), command: shortText }),
  z.object({ kind: z.literal("stdout"), data: text }),
  z.object({ kind: z.literal("stderr"), data: text }),
  z.object({
    kind: z.literal("finished"),
    exitCode: z.number().int(),
    message: shortText.optional(),
    /** A download's bytes, offered for the requestor to pull. */
    download: streamSchemas.StreamOffer.optional(),
  }),
  /** The batch ended (`index` = the number of commands run); `ok` false names why in `message`. */
  z.object({ kind: z.literal("done"), ok: z.boolean(), message: shortText.optional() }),
]);
export type BatchEventBody = z.infer<typeof batchEventSchema>;

export const activitySchemas = {
  ActivityCreate: z.object({ agreementId: idSchema, activityId: idSchema }),
  ActivityExec: z.object({
    activityId: idSchema,
    batchId: idSchema,
    commands: z.array(commandSchema).min(1).max(256),
    timeoutMs: durationMsSchema,
  }),
  ActivityCancel: z.object({ activityId: idSchema, batchId: idSchema, reason: shortText.optional() }),
  ActivityDestroy: z.object({ activityId: idSchema, reason: shortText.optional() }),
  ActivityState: z.object({
    activityId: idSchema,
    state: z.enum(activityStates),
    reason: shortText.optional(),
  }),
  /** Progress of a batch: command `index` started, wrote output, or finished; then the batch is done. */
  BatchEvent: z.object({
    activityId: idSchema,
    batchId: idSchema,
    index: z.number().int().nonnegative(),
    event: batchEventSchema,
  }),
} as const;

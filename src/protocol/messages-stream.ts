/** Byte streams, images, and the generic replies of request/reply (DESIGN §3, §9). */
import { z } from "zod";
import { idSchema, imageHashSchema, sha256HexSchema, shortText } from "./schema-common.js";

/** Largest chunk a stream may carry. */
export const MAX_CHUNK_BYTES = 512 * 1024;

const streamIdSchema = idSchema;
const byteCount = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const streamSchemas = {
  /** Describes a stream the sender holds ready; the receiver pulls it chunk by chunk. */
  StreamOffer: z.object({
    streamId: streamIdSchema,
    size: byteCount,
    /** Every chunk but the last holds exactly this many bytes. */
    chunkSize: z.number().int().min(1).max(MAX_CHUNK_BYTES),
    sha256: sha256HexSchema.optional(),
  }),
  /** The receiver asks for chunk `seq` (0, 1, …), or gives up with `abort`. */
  StreamPull: z.object({
    streamId: streamIdSchema,
    seq: z.number().int().nonnegative(),
    abort: shortText.optional(),
  }),
  /**
   * Chunk `seq` of a stream: its bytes travel as the envelope's attachment (`att` = `size`).
   * The last chunk carries the sha256 of the whole stream; `abort` ends the stream on error.
   */
  StreamChunk: z.object({
    streamId: streamIdSchema,
    seq: z.number().int().nonnegative(),
    offset: byteCount,
    size: z.number().int().nonnegative().max(MAX_CHUNK_BYTES),
    last: z.boolean(),
    sha256: sha256HexSchema.optional(),
    abort: shortText.optional(),
  }),
  /** Ask a node for an image by content hash; the reply is a StreamOffer. */
  ImageGet: z.object({ hash: imageHashSchema }),
  /** A request succeeded with nothing more to say. */
  Ack: z.object({}),
  /** A request failed; `code` is an `AgoraErrorCode` when the responder is an Agora node. */
  Error: z.object({ code: z.string().max(64), message: z.string().max(4096) }),
} as const;

/** Message types whose envelope may carry a binary attachment. */
export const ATTACHMENT_TYPES: ReadonlySet<string> = new Set(["StreamChunk"]);

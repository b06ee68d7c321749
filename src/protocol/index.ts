/** protocol/: identities, signed envelopes, message schemas, replay guard (DESIGN §4). */
export { canonicalBytes, canonicalJson } from "./canonical.js";
export { ManualClock, systemClock } from "./clock.js";
export type { Clock } from "./clock.js";
export {
  BROADCAST,
  FRAME_MAGIC,
  PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  signEnvelope,
  verifyEnvelope,
} from "./envelope.js";
export type { AnyEnvelope, Envelope, EnvelopeDraft } from "./envelope.js";
export { IDENTITY_FILE, NodeIdentity, isNodeId, verifySignature } from "./identity.js";
export type { NodeId } from "./identity.js";
export { activityStates, commandSchema } from "./messages-activity.js";
export type { ActivityStateName, BatchEventBody, Command } from "./messages-activity.js";
export { signatureSchema, terminationReasons } from "./messages-market.js";
export type { TerminationReason } from "./messages-market.js";
export { ATTACHMENT_TYPES, MAX_CHUNK_BYTES } from "./messages-stream.js";
export { BROADCAST_TYPES, isMessageType, messageSchemas } from "./messages.js";
export type { MessageBody, MessageType } from "./messages.js";
export { ReplayGuard } from "./replay-guard.js";
export { MAX_TEXT, amountSchema, idSchema, nodeIdSchema, propertiesSchema } from "./schema-common.js";
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_SKEW_MS,
  MessageRejectedError,
  MessageVerifier,
  dropReasons,
} from "./verifier.js";
export type { DropReason, VerifiedMessage, VerifierOptions } from "./verifier.js";
export { fromWireError, toWireError } from "./wire-error.js";

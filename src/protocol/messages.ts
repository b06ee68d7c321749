/** The registry of message types: one zod schema per type, every family of DESIGN §4. */
import type { z } from "zod";
import { activitySchemas } from "./messages-activity.js";
import { marketSchemas } from "./messages-market.js";
import { paymentSchemas } from "./messages-payment.js";
import { streamSchemas } from "./messages-stream.js";

export const messageSchemas = {
  ...marketSchemas,
  ...activitySchemas,
  ...paymentSchemas,
  ...streamSchemas,
} as const;

export type MessageType = keyof typeof messageSchemas;
/** The body of a message of type `T`, as its schema outputs it. */
export type MessageBody<T extends MessageType> = z.output<(typeof messageSchemas)[T]>;

/** Message types that may be addressed to everyone (`to: "*"`). */
export const BROADCAST_TYPES: ReadonlySet<MessageType> = new Set<MessageType>([
  "Demand",
  "OfferAnnouncement",
]);

export function isMessageType(type: string): type is MessageType {
  return Object.hasOwn(messageSchemas, type);
}

/** Building blocks shared by the message schemas: ids, amounts, properties, bounded strings. */
import { z } from "zod";
import { isNodeId } from "./identity.js";

/** Longest free-text string any message field may carry. */
export const MAX_TEXT = 64 * 1024;

export const nodeIdSchema = z.string().refine(isNodeId, "not a node id");
/** An opaque id chosen by its creator (uuid, hash, …). */
export const idSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:@-]+$/, "id has characters outside [A-Za-z0-9_.:@-]");
/** A non-negative decimal amount on the wire ("0.0123"). */
export const amountSchema = z
  .string()
  .max(64)
  .regex(/^\d+(\.\d+)?$/, "amount is not a non-negative decimal string");
export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "not a lowercase sha256 hex digest");
export const imageHashSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, "not sha256:<hex>");
export const shortText = z.string().max(1024);
export const text = z.string().max(MAX_TEXT);
/** Milliseconds since the Unix epoch. */
export const epochMsSchema = z.number().int().nonnegative();
export const durationMsSchema = z
  .number()
  .int()
  .positive()
  .max(7 * 24 * 3600 * 1000);

const propertyValue = z.union([
  z.string().max(4096),
  z.number(),
  z.boolean(),
  z.array(z.union([z.string().max(4096), z.number(), z.boolean()])).max(64),
]);

/** A flat property map with dotted keys (DESIGN §5). */
export const propertiesSchema = z
  .record(z.string().min(1).max(256), propertyValue)
  .refine((props) => Object.keys(props).length <= 512, "more than 512 properties");

/** Properties plus an LDAP-style constraint expression. */
export const specSchema = z.object({
  properties: propertiesSchema,
  constraints: z.string().max(16 * 1024),
});

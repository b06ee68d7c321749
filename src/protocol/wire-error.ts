/** Errors across the wire: a failed request travels as an `Error` message and is rebuilt here. */
import {
  AbortError,
  AgoraError,
  BudgetExceededError,
  ConfigError,
  ImageError,
  MarketError,
  PaymentError,
  ProtocolError,
  ProviderError,
  SizeLimitError,
  TimeoutError,
  UserError,
} from "../errors.js";
import type { AgoraErrorOptions } from "../errors.js";
import type { MessageBody } from "./messages.js";

/** The `Error` body for a thrown value (messages of non-Agora errors are not leaked). */
export function toWireError(err: unknown): MessageBody<"Error"> {
  if (err instanceof AgoraError) return { code: err.code, message: err.message.slice(0, 4096) };
  return { code: "INTERNAL", message: "internal error" };
}

const classes: Readonly<Record<string, new (message: string, options?: AgoraErrorOptions) => AgoraError>> = {
  USER_ERROR: UserError,
  CONFIG_ERROR: ConfigError,
  ABORTED: AbortError,
  TIMEOUT: TimeoutError,
  SIZE_LIMIT: SizeLimitError,
  MARKET_ERROR: MarketError,
  PAYMENT_ERROR: PaymentError,
  BUDGET_EXCEEDED: BudgetExceededError,
  PROTOCOL_ERROR: ProtocolError,
  IMAGE_ERROR: ImageError,
};

/**
 * Rebuild the error a remote node answered with: the class of its code when we know one,
 * otherwise `ProviderError` (the other side failed). The message names the remote node.
 */
export function fromWireError(body: MessageBody<"Error">, from: string): AgoraError {
  const Cls = classes[body.code] ?? ProviderError;
  return new Cls(`${from.slice(0, 8)}… answered ${body.code}: ${body.message}`);
}

/**
 * The Agora error tree (DESIGN §7). Errors are split by who is at fault, each carries a
 * string-literal `code`, the standard `cause`, and typed context (task, agreement, provider).
 */

/** Ids an error may concern; every field is optional. */
export interface ErrorContext {
  readonly taskId?: string;
  readonly agreementId?: string;
  readonly activityId?: string;
  readonly providerId?: string;
}

export interface AgoraErrorOptions extends ErrorContext {
  readonly cause?: unknown;
}

export type AgoraErrorCode =
  | "USER_ERROR"
  | "CONFIG_ERROR"
  | "ABORTED"
  | "TIMEOUT"
  | "BATCH_TIMEOUT"
  | "COMMAND_FAILED"
  | "PROVIDER_ERROR"
  | "OUT_OF_MEMORY"
  | "PATH_OUTSIDE_VOLUMES"
  | "UNSAFE_ARCHIVE"
  | "SIZE_LIMIT"
  | "MARKET_ERROR"
  | "PAYMENT_ERROR"
  | "BUDGET_EXCEEDED"
  | "PROTOCOL_ERROR"
  | "IMAGE_ERROR"
  | "IMAGE_HASH_MISMATCH";

export class AgoraError extends Error {
  readonly code: AgoraErrorCode = "USER_ERROR";
  readonly taskId: string | undefined;
  readonly agreementId: string | undefined;
  readonly activityId: string | undefined;
  readonly providerId: string | undefined;

  constructor(message: string, options: AgoraErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.taskId = options.taskId;
    this.agreementId = options.agreementId;
    this.activityId = options.activityId;
    this.providerId = options.providerId;
  }
}

/** The user's options or script are wrong. */
export class UserError extends AgoraError {
  override readonly code: AgoraErrorCode = "USER_ERROR";
}

/** A configuration file or preset is wrong. */
export class ConfigError extends AgoraError {
  override readonly code: AgoraErrorCode = "CONFIG_ERROR";
}

/** The operation was cancelled through an AbortSignal. */
export class AbortError extends AgoraError {
  override readonly code: AgoraErrorCode = "ABORTED";
}

/** A deadline passed. */
export class TimeoutError extends AgoraError {
  override readonly code: AgoraErrorCode = "TIMEOUT";
}

/** A committed batch did not finish within its timeout. */
export class BatchTimeoutError extends TimeoutError {
  override readonly code: AgoraErrorCode = "BATCH_TIMEOUT";
}

export interface CommandResultInfo {
  readonly command: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The user's command exited non-zero: a result of the work, not a failure of the system. */
export class CommandExecutionError extends AgoraError {
  override readonly code: AgoraErrorCode = "COMMAND_FAILED";
  readonly command: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;

  constructor(result: CommandResultInfo, options: AgoraErrorOptions = {}) {
    const tail = result.stderr.trim().split("\n").slice(-3).join("\n");
    super(
      `command ${JSON.stringify(result.command)} exited with code ${result.exitCode}` +
        (tail ? `: ${tail}` : ""),
      options,
    );
    this.command = result.command;
    this.exitCode = result.exitCode;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

/** The provider or its system failed; the work is retried elsewhere. */
export class ProviderError extends AgoraError {
  override readonly code: AgoraErrorCode = "PROVIDER_ERROR";
}

/** A container ran out of its memory limit. */
export class OutOfMemoryError extends ProviderError {
  override readonly code: AgoraErrorCode = "OUT_OF_MEMORY";
}

/** A transfer named a path outside the container's writable volumes. */
export class PathOutsideVolumesError extends UserError {
  override readonly code: AgoraErrorCode = "PATH_OUTSIDE_VOLUMES";
}

/** A tar archive held an entry that would escape its target (absolute, `..`, link out). */
export class UnsafeArchiveError extends AgoraError {
  override readonly code: AgoraErrorCode = "UNSAFE_ARCHIVE";
}

/** A transfer or output grew past its size cap. */
export class SizeLimitError extends AgoraError {
  override readonly code: AgoraErrorCode = "SIZE_LIMIT";
}

export class MarketError extends AgoraError {
  override readonly code: AgoraErrorCode = "MARKET_ERROR";
}

export class PaymentError extends AgoraError {
  override readonly code: AgoraErrorCode = "PAYMENT_ERROR";
}

export class BudgetExceededError extends PaymentError {
  override readonly code: AgoraErrorCode = "BUDGET_EXCEEDED";
}

/** A message was malformed, forged, replayed or of an unknown version. */
export class ProtocolError extends AgoraError {
  override readonly code: AgoraErrorCode = "PROTOCOL_ERROR";
}

export class ImageError extends AgoraError {
  override readonly code: AgoraErrorCode = "IMAGE_ERROR";
}

export class ImageHashMismatchError extends ImageError {
  override readonly code: AgoraErrorCode = "IMAGE_HASH_MISMATCH";
  readonly expected: string;
  readonly actual: string;

  constructor(expected: string, actual: string, options: AgoraErrorOptions = {}) {
    super(`image hash mismatch: expected ${expected}, got ${actual}`, options);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Run `fn` with a signal that fires on the caller's abort or after `timeoutMs`, and map the
 * outcome: a caller abort becomes `AbortError`, the deadline becomes `TimeoutError` (or the
 * error `onTimeout` builds). Listeners are always removed.
 */
export async function withDeadline<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  opts: { timeoutMs?: number; signal?: AbortSignal; what: string; onTimeout?: () => Error },
): Promise<T> {
  const deadline = new AbortController();
  const timer =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => deadline.abort(new TimeoutError(`${opts.what} timed out after ${opts.timeoutMs} ms`)),
          opts.timeoutMs,
        );
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
  try {
    opts.signal?.throwIfAborted();
    return await fn(signal);
  } catch (err) {
    if (opts.signal?.aborted) throw toAbortError(opts.signal, opts.what, err);
    if (deadline.signal.aborted) throw opts.onTimeout ? opts.onTimeout() : (deadline.signal.reason as Error);
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Map an aborted signal's reason to an `AbortError` (keeping our own errors as they are). */
export function toAbortError(signal: AbortSignal, what: string, cause?: unknown): AgoraError {
  const reason: unknown = signal.reason;
  if (reason instanceof AgoraError) return reason;
  return new AbortError(`${what} was aborted`, { cause: reason ?? cause });
}

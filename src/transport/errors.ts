/** Transport errors. Timeouts and aborts use the shared `TimeoutError` / `AbortError`. */
import { AbortError, ProtocolError, ProviderError, UserError } from "../errors.js";

/** Nobody subscribes to the subject a request was sent to: the node is gone or not serving it. */
export class NoRespondersError extends ProviderError {
  readonly subject: string;

  constructor(subject: string, options: { cause?: unknown } = {}) {
    super(`no responders on subject "${subject}"`, options);
    this.subject = subject;
  }
}

/** The bus was used after `close()`. */
export class BusClosedError extends UserError {
  constructor(what: string) {
    super(`${what}: the bus is closed`);
  }
}

/** A subject is not valid (empty token, whitespace, or a wildcard where none is allowed). */
export class InvalidSubjectError extends UserError {
  readonly subject: string;

  constructor(subject: string, why: string) {
    super(`invalid subject ${JSON.stringify(subject)}: ${why}`);
    this.subject = subject;
  }
}

/** A byte stream was aborted, by this side or by its peer. */
export class StreamAbortedError extends AbortError {
  readonly streamId: string;
  readonly by: "sender" | "receiver";

  constructor(
    streamId: string,
    by: "sender" | "receiver",
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(`stream ${streamId} was aborted by the ${by}: ${reason}`, options);
    this.streamId = streamId;
    this.by = by;
  }
}

/** A byte stream broke its declaration: more or fewer bytes than its size, or another sha256. */
export class StreamIntegrityError extends ProtocolError {
  readonly streamId: string;

  constructor(streamId: string, message: string) {
    super(`stream ${streamId}: ${message}`);
    this.streamId = streamId;
  }
}

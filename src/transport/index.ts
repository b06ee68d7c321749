/** transport/: the Bus, its in-process and NATS implementations, signed nodes, byte streams (DESIGN §3). */
export { AsyncQueue } from "./async-queue.js";
export {
  BusClosedError,
  InvalidSubjectError,
  NoRespondersError,
  StreamAbortedError,
  StreamIntegrityError,
} from "./errors.js";
export { MemoryBus } from "./memory-bus.js";
export type { MemoryBusOptions } from "./memory-bus.js";
export { NatsBus } from "./nats-bus.js";
export type { NatsBusOptions } from "./nats-bus.js";
export { SignedNode } from "./signed-node.js";
export type {
  AnyInbound,
  AnyOutgoing,
  Inbound,
  Outgoing,
  RequestHandler,
  SignedNodeOptions,
} from "./signed-node.js";
export { DEFAULT_STREAM_WINDOW, MAX_STREAM_WINDOW, receiveStream } from "./stream-receiver.js";
export type { ReceiveStreamOptions } from "./stream-receiver.js";
export { StreamSender, streamSubject } from "./stream-sender.js";
export type { OfferOptions, StreamOffer, StreamSenderOptions } from "./stream-sender.js";
export { assertPublishSubject, assertSubscribeSubject, subjectMatches } from "./subject.js";
export type { Bus, BusMessage, RequestManyOptions, RequestOptions, Subscription } from "./types.js";

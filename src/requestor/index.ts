/** requestor/: the requestor's side of the market and of activities (the Executor builds on it). */
export { Batch, type BatchStep, type UploadSource } from "./batch.js";
export {
  ActivityClient,
  type ActivityClientOptions,
  type ActivityHandle,
  type BatchResult,
  type CommandEvent,
  type CommandResult,
  type ExecOptions,
} from "./activity-client.js";
export {
  MarketClient,
  type CollectedProposals,
  type CollectOptions,
  type MarketClientOptions,
  type Negotiated,
  type ProposalCandidate,
  type Refusal,
  type TerminationListener,
} from "./market-client.js";
export { RequestorNode, type RequestorNodeOptions } from "./requestor-node.js";
export { scanOffers, type LiveOffer } from "./offer-scan.js";

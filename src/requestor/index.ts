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
export { PaymentManager, type PaymentManagerOptions } from "./payment-manager.js";
export {
  formatPaymentSummary,
  type PaymentEvent,
  type PaymentEventType,
  type PaymentSummary,
  type ProviderCost,
} from "./payment-events.js";
export { Executor, type ExecutorState, type SubmitOptions } from "./executor.js";
export {
  type ExecutorOptions,
  type ResolvedExecutorOptions,
  resolveExecutorOptions,
} from "./executor-options.js";
export { Task, type TaskStatus } from "./task.js";
export { TaskQueue, type TaskQueueOptions } from "./task-queue.js";
export {
  PendingBatch,
  WorkContext,
  type BatchResults,
  type CommandOutput,
  type CommitOptions,
  type RunOptions,
} from "./work-context.js";
export {
  driveWorker,
  type ActivitySession,
  type DriveOptions,
  type Worker,
  type WorkerEnd,
} from "./worker.js";
export { AgreementPool, type AgreementPoolOptions, type PooledAgreement } from "./agreement-pool.js";
export { EventHub, type EventConsumer, type ExecutorEvent, type ExecutorEventType } from "./events.js";
export { logSummary, type LogSummaryOptions } from "./log-summary.js";
export { describePackage, docker, type Package, type PackageOptions } from "./package.js";
export {
  nats,
  onBus,
  type NatsNetworkOptions,
  type Network,
  type NetworkConnection,
  type NetworkContext,
} from "./network.js";

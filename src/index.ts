/** The public requestor API (named exports only). */
export * from "./errors.js";
export { Executor, local, type LocalNetworkOptions } from "./local/index.js";
export {
  docker,
  logSummary,
  nats,
  onBus,
  Task,
  WorkContext,
  type BatchResults,
  type CommandOutput,
  type CommitOptions,
  type EventConsumer,
  type ExecutorEvent,
  type ExecutorEventType,
  type ExecutorOptions,
  type ExecutorState,
  type LogSummaryOptions,
  type NatsNetworkOptions,
  type Network,
  type Package,
  type PackageOptions,
  type ResolvedExecutorOptions,
  type RunOptions,
  type SubmitOptions,
  type TaskStatus,
  type Worker,
} from "./requestor/index.js";
export {
  LeastExpensiveLinearPayu,
  DecreaseScoreForUnconfirmedAgreement,
  ProviderFilter,
  type MarketStrategy,
} from "./market/index.js";

/** provider/: the provider agent, its presets and negotiator rules (DESIGN §8). */
export { ProviderAgent, type ProviderAgentOptions, type ProviderAgentState } from "./agent.js";
export {
  capResources,
  loadPreset,
  machineResources,
  parsePreset,
  presetSchema,
  presetsDir,
  type MachineResources,
  type Preset,
} from "./preset.js";
export { Negotiator, offerFromPreset, type MadeProposal, type Verdict } from "./negotiator.js";
export { pathInVolumes, planBatch, type PlannedCommand } from "./batch-plan.js";
export {
  BillingService,
  type BillingServiceOptions,
  type BillingTamper,
  type MeteredActivity,
} from "./billing.js";

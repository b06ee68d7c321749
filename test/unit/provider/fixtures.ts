/** Shared pieces of the provider unit tests: a preset and a demand body for it. */
import { demandFor, specBody } from "../../../src/market/index.js";
import type { Preset } from "../../../src/provider/index.js";
import type { MessageBody } from "../../../src/protocol/index.js";

export const IMAGE = `docker:sha256:${"ab".repeat(32)}`;
export const NOW = 1_700_000_000_000;

export function preset(limits: Partial<Preset["limits"]> = {}): Preset {
  return {
    name: "unit",
    description: "",
    subnet: "devnet",
    resources: { cpuThreads: 2, memGib: 2, storageGib: 8 },
    pricing: { start: "0", perDurationSec: "0.0001", perCpuSec: "0.0002" },
    limits: {
      maxAgreements: 2,
      maxAgreementDurationSec: 3600,
      debitNoteIntervalSec: { min: 10, max: 600, default: 60 },
      paymentAcceptTimeoutSec: { min: 30, max: 3600, default: 120 },
      idleTimeoutSec: 60,
      allowRequestors: [],
      denyRequestors: [],
      ...limits,
    },
  };
}

export function demandBody(
  extra: Parameters<typeof demandFor>[0] extends infer O ? Partial<O> : never = {},
): MessageBody<"Demand"> {
  const demand = demandFor({ taskPackage: IMAGE, expiresAt: NOW + 600_000, subnet: "devnet", ...extra });
  return { demandId: "d1", subnet: "devnet", spec: specBody(demand), expiresAt: NOW + 60_000 };
}

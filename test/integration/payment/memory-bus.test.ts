/** Payments end to end on the in-process MemoryBus, with the real Docker engine. */
import { MemoryBus } from "../../../src/transport/index.js";
import { paymentScenario } from "./scenario.js";

paymentScenario("MemoryBus", () => {
  const bus = new MemoryBus();
  return Promise.resolve({ providerBus: bus, requestorBus: bus, close: () => bus.close() });
});

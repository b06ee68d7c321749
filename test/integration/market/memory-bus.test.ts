/** The market scenario on the in-process MemoryBus, with the real Docker engine. */
import { MemoryBus } from "../../../src/transport/index.js";
import { marketScenario } from "./scenario.js";

marketScenario("MemoryBus", () => {
  const bus = new MemoryBus();
  return Promise.resolve({ providerBus: bus, requestorBus: bus, close: () => bus.close() });
});

/** The Bus contract against MemoryBus. */
import { MemoryBus } from "../../../src/transport/index.js";
import { busContract } from "./bus-contract.js";

busContract("MemoryBus", {
  network: () => {
    const bus = new MemoryBus();
    return Promise.resolve({
      connect: () => Promise.resolve(bus),
      settle: () => Promise.resolve(),
      close: () => bus.close(),
    });
  },
});

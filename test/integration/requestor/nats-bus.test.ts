/** The Executor's scenario on NATS: agents and the requestor on a real nats-server. */
import { afterAll, beforeAll } from "vitest";
import { nats } from "../../../src/index.js";
import { NatsBus } from "../../../src/transport/index.js";
import { NatsServer } from "../helpers/nats-server.js";
import { executorScenario } from "./scenario.js";

let server: NatsServer;
beforeAll(async () => {
  server = await NatsServer.start();
});
afterAll(async () => {
  await server?.stop();
});

executorScenario("NatsBus", async () => {
  const providerBus = await NatsBus.connect({ servers: server.url });
  return {
    providerBus,
    network: () => nats({ servers: server.url }),
    settle: () => providerBus.flush(),
    close: () => providerBus.close(),
  };
});

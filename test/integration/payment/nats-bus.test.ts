/** Payments end to end on NatsBus against a real nats-server, with the real Docker engine. */
import { afterAll, beforeAll } from "vitest";
import { NatsBus } from "../../../src/transport/index.js";
import { NatsServer } from "../helpers/nats-server.js";
import { paymentScenario } from "./scenario.js";

let server: NatsServer;
beforeAll(async () => {
  server = await NatsServer.start();
});
afterAll(async () => {
  await server?.stop();
});

paymentScenario("NatsBus", async () => {
  const providerBus = await NatsBus.connect({ servers: server.url });
  const requestorBus = await NatsBus.connect({ servers: server.url });
  return {
    providerBus,
    requestorBus,
    settle: async () => {
      await providerBus.flush();
      await requestorBus.flush();
    },
    close: async () => {
      await providerBus.close();
      await requestorBus.close();
    },
  };
});

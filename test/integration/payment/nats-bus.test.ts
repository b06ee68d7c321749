/** Payments end to end on NatsBus against a real nats-server, with the real Docker engine. */
import { afterAll, beforeAll } from "vitest";
import { NatsServer, natsBusPair } from "../helpers/nats-server.js";
import { paymentScenario } from "./scenario.js";

let server: NatsServer;
beforeAll(async () => {
  server = await NatsServer.start();
});
afterAll(async () => {
  await server?.stop();
});

paymentScenario("NatsBus", () => natsBusPair(server.url));

/** `agora market scan`: list the offers providers announce on a subnet. */
import { Command, Option } from "commander";
import { UserError } from "../errors.js";
import { numberProperty, PROP, stringProperty } from "../market/index.js";
import { formatAmount, LinearPricing } from "../payment/index.js";
import { NodeIdentity } from "../protocol/index.js";
import { scanOffers, type LiveOffer } from "../requestor/index.js";
import { NatsBus, SignedNode } from "../transport/index.js";
import { table } from "./format.js";

interface ScanOpts {
  readonly subnet: string;
  readonly nats: string;
  readonly seconds: string;
  readonly json?: boolean;
}

/** One table row per offer: name, node id, resources, prices. */
export function offerRow(o: LiveOffer): string[] {
  const p = o.offer.properties;
  let prices = "(no linear pricing)";
  try {
    const pricing = LinearPricing.fromProperties(p);
    prices = `start ${formatAmount(pricing.start)}, ${formatAmount(pricing.envPerHour)}/h, ${formatAmount(pricing.cpuPerHour)}/cpu-h`;
  } catch {
    // shown as such
  }
  const num = (key: string): string => String(numberProperty(p, key) ?? "?");
  return [
    stringProperty(p, PROP.nodeName) ?? "?",
    o.providerId,
    num(PROP.cpuThreads),
    num(PROP.memGib),
    num(PROP.storageGib),
    prices,
  ];
}

export function marketCommand(): Command {
  const cmd = new Command("market").description("look at the market");
  cmd
    .command("scan")
    .description("list live offers on a subnet: name, node id, resources, prices")
    .addOption(new Option("--subnet <tag>", "subnet to scan").default("public"))
    .addOption(new Option("--nats <url>", "NATS server").default("nats://127.0.0.1:4222"))
    .addOption(new Option("--seconds <n>", "how long to listen for announcements").default("12"))
    .option("--json", "print JSON")
    .action(async (opts: ScanOpts) => {
      const seconds = Number(opts.seconds);
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600)
        throw new UserError(`--seconds must be a number in (0, 3600], got ${opts.seconds}`);
      const bus = await NatsBus.connect({ servers: opts.nats });
      const node = new SignedNode({ bus, identity: NodeIdentity.generate() });
      const ac = new AbortController();
      const onSigint = (): void => ac.abort();
      process.once("SIGINT", onSigint);
      try {
        console.error(`listening on subnet ${opts.subnet} for ${seconds} s…`);
        const offers = await scanOffers(node, {
          subnet: opts.subnet,
          durationMs: seconds * 1000,
          signal: ac.signal,
        });
        if (opts.json) {
          console.log(
            JSON.stringify(
              offers.map((o) => ({ ...o, offer: o.offer.properties })),
              null,
              2,
            ),
          );
          return;
        }
        const rows = offers.map(offerRow);
        console.log(table([["NAME", "NODE ID", "THREADS", "MEM GiB", "STORAGE GiB", "PRICES"], ...rows]));
        console.error(`${offers.length} offer(s)`);
      } finally {
        process.off("SIGINT", onSigint);
        node.close();
        await bus.close();
      }
    });
  return cmd;
}

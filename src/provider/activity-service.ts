/**
 * The provider's activity protocol on `agora.node.<self>.activity`: create (fetch the agreement's
 * image by hash from the requestor over the Bus or from the cache, verify, load, deploy a hardened
 * container), exec (a batch, checked before any engine call; events go to the requestor), cancel,
 * destroy. Only an agreement's requestor may use its activities.
 */
import type { Logger } from "pino";
import { MarketError, ProtocolError, UserError } from "../errors.js";
import {
  BusImageSource,
  HttpImageSource,
  ImageFetcher,
  type ImageSource,
  type ImageStore,
} from "../images/index.js";
import { activitySubject, batchEventsSubject, PROP, stringProperty } from "../market/index.js";
import type { MessageBody, NodeId } from "../protocol/index.js";
import type { AnyInbound, AnyOutgoing, SignedNode, StreamSender, Subscription } from "../transport/index.js";
import { Activity, type ActivityContext } from "./activity.js";
import type { AgreementRecord, AgreementRegistry } from "./agreements.js";
import type { ContainerRuntime, ResourceLimits } from "./runtime/index.js";

export interface ActivityServiceOptions {
  readonly node: SignedNode;
  readonly sender: StreamSender;
  readonly runtime: ContainerRuntime;
  readonly store: ImageStore;
  /** Sources tried after the requestor itself. */
  readonly imageSources: readonly ImageSource[];
  readonly agreements: AgreementRegistry;
  readonly limits: ResourceLimits;
  /** Labels the containers (orphan cleanup). */
  readonly agentId: string;
  readonly maxTransferBytes: number;
  /** Where downloads wait as files until pulled. */
  readonly spoolDir: string;
  /** How long fetching an image may stall. */
  readonly imageIdleTimeoutMs: number;
  readonly logger: Logger;
  /** A started container is about to be removed (billing reads its final usage). */
  readonly beforeDestroy?: ActivityContext["beforeDestroy"];
}

/** Terminated activities remembered (so a late request hears "terminated"). */
const MAX_ENDED = 1000;

type Body<T extends "ActivityCreate" | "ActivityExec" | "ActivityCancel" | "ActivityDestroy"> =
  MessageBody<T>;

export class ActivityService {
  readonly #o: ActivityServiceOptions;
  readonly #ctx: ActivityContext;
  readonly #activities = new Map<string, Activity>();
  readonly #creating = new AbortController();
  readonly #ended_: string[] = [];
  #sub: Subscription | undefined;

  constructor(opts: ActivityServiceOptions) {
    this.#o = opts;
    this.#ctx = {
      node: opts.node,
      sender: opts.sender,
      runtime: opts.runtime,
      logger: opts.logger,
      maxTransferBytes: opts.maxTransferBytes,
      spoolDir: opts.spoolDir,
      ended: (activity) => this.#ended(activity),
      ...(opts.beforeDestroy ? { beforeDestroy: opts.beforeDestroy } : {}),
      emit: (requestorId, body) => {
        try {
          opts.node.send(batchEventsSubject(requestorId), requestorId, { type: "BatchEvent", body });
        } catch (err) {
          opts.logger.warn({ err, activityId: body.activityId }, "sending a batch event failed");
        }
      },
    };
  }

  /** Activities not yet terminated. */
  get live(): number {
    let n = 0;
    for (const a of this.#activities.values()) if (a.state !== "Terminated") n++;
    return n;
  }

  start(): void {
    this.#sub = this.#o.node.serve(activitySubject(this.#o.node.nodeId), (msg) => this.#onMessage(msg));
  }

  /** Stop serving and abort creations in progress. */
  stop(): void {
    this.#sub?.unsubscribe();
    this.#creating.abort(new UserError("the provider is shutting down"));
  }

  /** The activities of an agreement that are not terminated. */
  activitiesOf(agreementId: string): Activity[] {
    return [...this.#activities.values()].filter(
      (a) => a.agreementId === agreementId && a.state !== "Terminated",
    );
  }

  /** Destroy every activity of an agreement (it ended). */
  async endAgreement(record: AgreementRecord): Promise<void> {
    const mine = [...this.#activities.values()].filter((a) => a.agreementId === record.agreement.agreementId);
    await Promise.allSettled(mine.map((a) => a.destroy("ended with its agreement")));
  }

  async #onMessage(msg: AnyInbound): Promise<AnyOutgoing> {
    const from = msg.envelope.from;
    switch (msg.envelope.type) {
      case "ActivityCreate":
        return this.#create(from, msg.envelope.body);
      case "ActivityExec": {
        const { activity } = this.#owned(from, msg.envelope.body.activityId);
        const b: Body<"ActivityExec"> = msg.envelope.body;
        activity.exec(b.batchId, b.commands, b.timeoutMs);
        return { type: "Ack", body: {} };
      }
      case "ActivityCancel": {
        const b: Body<"ActivityCancel"> = msg.envelope.body;
        this.#owned(from, b.activityId).activity.cancel(b.batchId, b.reason);
        return { type: "Ack", body: {} };
      }
      case "ActivityDestroy": {
        const b: Body<"ActivityDestroy"> = msg.envelope.body;
        const { activity } = this.#owned(from, b.activityId, true);
        await activity.destroy(b.reason ?? "destroyed by the requestor");
        return { type: "ActivityState", body: { activityId: activity.id, state: "Terminated" } };
      }
      default:
        throw new ProtocolError(`unexpected ${msg.envelope.type} on the activity subject`);
    }
  }

  async #create(from: NodeId, body: Body<"ActivityCreate">): Promise<AnyOutgoing> {
    const { agreements, runtime, logger } = this.#o;
    const record = agreements.get(body.agreementId);
    if (!record || record.agreement.requestorId !== from)
      throw new MarketError(`no agreement ${body.agreementId} with you`);
    if (record.state !== "approved")
      throw new MarketError(
        `agreement ${body.agreementId} is terminated (${record.termination?.reason ?? "?"})`,
      );
    if (this.#activities.has(body.activityId))
      throw new UserError(`activity ${body.activityId} already exists`);
    const activity = new Activity(this.#ctx, {
      id: body.activityId,
      agreementId: body.agreementId,
      requestorId: from,
    });
    this.#activities.set(activity.id, activity);
    agreements.activityCreated(record, activity.id);
    const log = logger.child({ activityId: activity.id, agreementId: body.agreementId });
    try {
      const hash = imageHashOf(record);
      const fetcher = new ImageFetcher({
        engine: runtime,
        store: this.#o.store,
        sources: [...this.#sources(from, record), ...this.#o.imageSources],
        idleTimeoutMs: this.#o.imageIdleTimeoutMs,
      });
      const image = await fetcher.fetch(hash, { signal: this.#creating.signal });
      log.debug({ hash, cached: image.cached }, "image ready");
      const info = await runtime.deploy({
        image: image.imageId,
        limits: this.#o.limits,
        agentId: this.#o.agentId,
        activityId: activity.id,
      });
      if (record.state !== "approved") {
        await runtime.destroy(info.id);
        throw new MarketError(`agreement ${body.agreementId} ended while the activity was created`);
      }
      activity.deployed(info);
      log.info("activity deployed");
      return { type: "ActivityState", body: { activityId: activity.id, state: activity.state } };
    } catch (err) {
      log.warn({ err }, "creating the activity failed");
      await activity.destroy("failed to deploy");
      throw err;
    }
  }

  #sources(requestor: NodeId, record: AgreementRecord): ImageSource[] {
    const sources: ImageSource[] = [new BusImageSource({ node: this.#o.node, from: requestor })];
    const ref = stringProperty(record.agreement.demand.properties, PROP.taskPackage) ?? "";
    const at = ref.indexOf("@");
    if (at >= 0 && /^https?:\/\//.test(ref.slice(at + 1))) {
      try {
        sources.push(new HttpImageSource({ url: ref.slice(at + 1) }));
      } catch (err) {
        this.#o.logger.debug({ err }, "ignoring the package's image URL");
      }
    }
    return sources;
  }

  /** The activity, when `from` is its requestor; refusals name the reason. */
  #owned(
    from: NodeId,
    activityId: string,
    allowEnded = false,
  ): { activity: Activity; record: AgreementRecord } {
    const activity = this.#activities.get(activityId);
    if (!activity || activity.requestorId !== from)
      throw new MarketError(`no activity ${activityId} of yours`);
    const record = this.#o.agreements.get(activity.agreementId);
    if (!record) throw new MarketError(`the agreement of activity ${activityId} is gone`);
    if (!allowEnded && activity.state === "Terminated")
      throw new UserError(`activity ${activityId} is terminated`);
    if (!allowEnded && record.state !== "approved")
      throw new MarketError(
        `the agreement of activity ${activityId} is terminated (${record.termination?.reason ?? "?"})`,
      );
    return { activity, record };
  }

  #ended(activity: Activity): void {
    const record = this.#o.agreements.get(activity.agreementId);
    if (record) this.#o.agreements.activityEnded(record, activity.id);
    this.#ended_.push(activity.id);
    // Keep the newest terminated activities (to say "terminated" to a late exec), bounded.
    while (this.#ended_.length > MAX_ENDED) this.#activities.delete(this.#ended_.shift()!);
  }
}

function imageHashOf(record: AgreementRecord): string {
  const ref = stringProperty(record.agreement.demand.properties, PROP.taskPackage);
  const m = ref === undefined ? null : /^docker:(sha256:[0-9a-f]{64})/.exec(ref);
  if (!m) throw new UserError(`the agreement's ${PROP.taskPackage} is not docker:sha256:<hex>`);
  return m[1]!;
}

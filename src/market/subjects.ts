/** Bus subjects of the market and activity protocols (DESIGN §3), shared by both sides. */
import type { NodeId } from "../protocol/index.js";

/** Requestor broadcast of demands in a subnet. */
export function demandSubject(subnet: string): string {
  return `agora.${subnet}.demand`;
}

/** Periodic provider announcements in a subnet (`agora market scan`). */
export function offersSubject(subnet: string): string {
  return `agora.${subnet}.offers`;
}

/** Direct market messages to a node: agreement proposals and terminations. */
export function marketSubject(nodeId: NodeId): string {
  return `agora.node.${nodeId}.market`;
}

/** Activity requests to a provider: create, exec, cancel, destroy. */
export function activitySubject(nodeId: NodeId): string {
  return `agora.node.${nodeId}.activity`;
}

/** Batch events to a requestor. */
export function batchEventsSubject(nodeId: NodeId): string {
  return `agora.node.${nodeId}.batch`;
}

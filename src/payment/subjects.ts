/** The Bus subject of the payment protocol (DESIGN §3, §10). */

/**
 * Direct payment messages to a node: debit notes and invoices to a requestor (answered with an
 * Acceptance or a Rejection), payments to a provider (answered with an Ack).
 */
export function paymentSubject(nodeId: string): string {
  return `agora.node.${nodeId}.payment`;
}

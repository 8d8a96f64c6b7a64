/** The "current details" support staff read in the Web UI: status, what the order waits for, until when. */
import type { OrderMachine } from '../../domain/machine';
import type { OrderState } from '../../domain/order';

export function describeForSupport(machine: OrderMachine, order: OrderState, until: string | null): string {
  const state = machine.states[order.status];
  const last = order.history[order.history.length - 1];
  const lines = [
    `**${order.status}** — ${state?.labels.support ?? order.status}`,
    state?.waitsFor ? `Waiting for ${state.waitsFor}${until ? ` until ${until}` : ''}.` : 'Finished.',
    `Total ${order.amounts.total} ${order.currency}, paid ${order.amounts.paid}, refunded ${order.amounts.refunded}` +
      (order.amounts.authorized ? `, held ${order.amounts.authorized} (captured at shipment).` : '.'),
    order.attention
      ? `**Needs support:** ${order.attention.code} (${order.attention.detail}) since ${order.attention.at}.`
      : '',
    last
      ? `Last: ${last.action} by ${last.actor} at ${last.at}${last.reason ? ` (${last.reason})` : ''}.`
      : '',
  ];
  return lines.filter(Boolean).join('\n\n');
}

/** The "current details" support staff read in the Web UI: status, what the order waits for, until when. */
import type { OrderMachine } from '../../domain/machine';
import { formatMoney } from '../../domain/money';
import type { OrderState } from '../../domain/order';

export function describeForSupport(machine: OrderMachine, order: OrderState, until: string | null): string {
  const state = machine.states[order.status];
  const last = order.history[order.history.length - 1];
  // Markdown in the Web UI reads `$…$` as math: a dollar sign is escaped.
  const money = (minor: number) => formatMoney(minor, order.currency).replace(/\$/g, '\\$');
  const lines = [
    `**${order.status}** — ${state?.labels.support ?? order.status}`,
    state?.waitsFor ? `Waiting for ${state.waitsFor}${until ? ` until ${until}` : ''}.` : 'Finished.',
    `Total ${money(order.amounts.total)}, paid ${money(order.amounts.paid)}, refunded ${money(order.amounts.refunded)}` +
      (order.amounts.authorized ? `, held ${money(order.amounts.authorized)} (captured at shipment).` : '.'),
    (order.payments ?? []).some((p) => p.risk)
      ? `Payment risk: ${(order.payments ?? [])
          .filter((p) => p.risk)
          .map((p) => `${p.risk} (${p.id})`)
          .join(', ')}.`
      : '',
    order.allocation?.length
      ? `Ships from ${order.allocation
          .map((a) => `${a.location} (${a.items.map((i) => `${i.sku} × ${i.quantity}`).join(', ')})`)
          .join('; ')}.`
      : '',
    order.fulfilments?.length
      ? `Fulfilment: ${order.fulfilments.map((f) => `${f.location} ${f.status}`).join(', ')}.`
      : '',
    order.shipments?.length
      ? `Parcels: ${order.shipments.map((s) => `${s.location ?? 'by hand'} ${s.status}`).join(', ')}.`
      : '',
    order.attention
      ? `**Needs support:** ${order.attention.code} (${order.attention.detail}) since ${order.attention.at}.`
      : '',
    last
      ? `Last: ${last.action} by ${last.actor} at ${last.at}${last.reason ? ` (${last.reason})` : ''}.`
      : '',
  ];
  return lines.filter(Boolean).join('\n\n');
}

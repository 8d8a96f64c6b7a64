/** OpenAPI links between operations: from an answer to what one can do with it (the stateful fuzzer follows them). */
import type { Links } from '../route';

const withId = (from: string, targets: string[], bodies: Record<string, unknown> = {}): Links =>
  Object.fromEntries(
    targets.map((to) => [
      to,
      { parameters: { id: from }, ...(to in bodies ? { requestBody: bodies[to] } : {}) },
    ]),
  );

/** From any answer that is an order, to everything one can do with it (paying with a token that pays). */
export const ORDER_LINKS = withId(
  '$response.body#/order/id',
  [
    'getOrder',
    'payOrder',
    'shipOrder',
    'confirmOrder',
    'approveOrder',
    'rejectOrder',
    'cancelOrder',
    'modifyOrder',
    'refundOrder',
    'requestReturn',
    'openClaim',
    'openExchange',
    'previewEdit',
  ],
  { payOrder: { paymentToken: 'tok_ok' } },
);

export const RETURN_LINKS = withId('$response.body#/return/id', [
  'getReturn',
  'approveReturn',
  'rejectReturn',
  'receiveReturn',
]);
export const CLAIM_LINKS = withId('$response.body#/claim/id', [
  'getClaim',
  'approveClaim',
  'rejectClaim',
  'shipClaim',
  'refundClaimInstead',
]);
export const EXCHANGE_LINKS = withId(
  '$response.body#/exchange/id',
  [
    'getExchange',
    'payExchange',
    'approveExchange',
    'rejectExchange',
    'receiveExchange',
    'shipExchange',
    'cancelExchange',
  ],
  { payExchange: { paymentToken: 'tok_ok' } },
);

export const EDIT_LINKS = withId('$response.body#/edit/id', ['getEdit', 'confirmEdit', 'cancelEdit']);

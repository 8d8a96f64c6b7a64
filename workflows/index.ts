/** The workflow bundle's entry: every workflow type the worker registers. */
export { orderWorkflow } from './order/order-workflow';
export { cancelOrderFlow } from './reverse/cancel-order';
export { refundOrderFlow } from './reverse/refund-order';
export { returnOrderFlow } from './reverse/return-order';
export { claimOrderFlow } from './reverse/claim-order';
export { exchangeOrderFlow } from './reverse/exchange-order';
export { editOrderFlow } from './reverse/edit-order';
export { modifyOrderFlow } from './reverse/modify-order';
export { fulfilmentFlow } from './fulfilment/fulfilment-flow';

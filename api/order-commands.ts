/**
 * The API's side of the order workflow: create (update-with-start, so refusals come back before
 * the 201) and act (an Update per action). Nothing here decides business rules; the workflow does.
 */
import { formatMoney } from '../domain/money';
import { randomUUID } from 'node:crypto';
import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../config';
import { ConflictError, DomainError, FailureType } from '../domain/errors';
import { decide } from '../domain/machine';
import type { ApiMetrics } from './metrics';
import { toProblem } from './problem';
import type { SearchAttributeGuard } from './search-attributes';
import { machineFor, type OrderType } from '../domain/machines';
import type { Quote } from '../services/orders/quote-order';
import type { ImportedOrder } from '../domain/imports';
import type { ActionRequest, OrderPolicy, OrderState, ShippingAddress, LineQuantity } from '../domain/order';
import {
  createOrderUpdate,
  orderActionUpdate,
  ORDER_WORKFLOW_TYPE,
  paymentUpdateSignal,
  payUnansweredSignal,
  searchAttributes,
  type OrderWorkflowInput,
  type OrderWorkflowResult,
  type PaymentUpdate,
} from '../workflows/messages';
import { fulfilmentNewsSignal } from '../workflows/fulfilment/messages';
import { workflowIdOf, type FulfilmentRecord } from '../domain/fulfilment';
import {
  claimActionUpdate,
  exchangeActionUpdate,
  exchangePaymentSignal,
  type ExchangeActionRequest,
  type ExchangeRecord,
  returnActionUpdate,
  type ClaimActionRequest,
  type ClaimRecord,
  type ReturnActionRequest,
  type ReturnRecord,
} from '../workflows/reverse/messages';

export interface CreateOrderCommand {
  type: OrderType;
  customerId: string;
  /** The sales channel it comes through, and that channel's payment timeout if it has its own. */
  channel: string;
  paymentTimeoutMs?: number;
  items: LineQuantity[];
  couponCode?: string;
  shippingAddress?: ShippingAddress;
  requestId?: string;
  orderId?: string;
  /** The expected total, shown in the workflow's static summary (services/orders/quote-order.ts). */
  quote?: Quote | null;
}

export interface ImportOrderCommand {
  /** Derived from (channel, external id): a second import of the same order names the same workflow. */
  orderId: string;
  customerId: string;
  channel: string;
  shippingAddress?: ShippingAddress;
  requestId?: string;
  /** For the Web UI's summary only (the products' currency when the source did not say). */
  currency?: string;
  imported: ImportedOrder;
}

export function newOrderId(): string {
  return `ord_${randomUUID().replace(/-/g, '')}`;
}

export class OrderCommands {
  constructor(
    private readonly client: Client,
    private readonly config: Config,
    private readonly metrics?: ApiMetrics,
    private readonly searchAttributes?: SearchAttributeGuard,
  ) {}

  private policy(type: OrderType, paymentTimeoutMs?: number): OrderPolicy {
    return {
      paymentTimeoutMs: paymentTimeoutMs ?? this.config.PAYMENT_TIMEOUT,
      autoConfirmAfterMs: this.config.AUTO_CONFIRM_AFTER,
      afterSalesWindowMs:
        type === 'virtual' ? this.config.VIRTUAL_AFTER_SALES_WINDOW : this.config.AFTER_SALES_WINDOW,
      pendingPaymentGraceMs: this.config.PAYMENT_PENDING_GRACE,
      pendingPaymentPollMs: this.config.PAYMENT_PENDING_POLL,
      chargeKeyMemoryMs: this.config.PAYMENT_KEY_MEMORY,
      ...(this.config.REVIEW_ABOVE ? { reviewAbove: this.config.REVIEW_ABOVE } : {}),
      reviewTimeoutMs: this.config.REVIEW_TIMEOUT,
      returnDecisionWindowMs: this.config.RETURN_DECISION_WINDOW,
      returnShipWindowMs: this.config.RETURN_SHIP_WINDOW,
      ...(type === 'virtual' ? { deliverRetryMs: this.config.CODE_VENDOR_RETRY } : {}),
      ...(this.config.FULFILMENT === 'warehouse' && type !== 'virtual'
        ? { fulfilment: 'warehouse' as const, parcelNewsWaitMs: this.config.PARCEL_NEWS_WAIT }
        : {}),
      // Physical goods sold at once; a presale's deposit and a virtual good are taken when paid.
      ...(this.config.PAYMENT_CAPTURE === 'on_shipment' && type === 'standard'
        ? {
            capture: 'on_shipment' as const,
            reauthorizeBeforeMs: this.config.PAYMENT_REAUTH_BEFORE,
            captureRetryMs: this.config.PAYMENT_CAPTURE_RETRY,
          }
        : {}),
    };
  }

  async create(command: CreateOrderCommand): Promise<OrderState> {
    return this.start(
      {
        orderId: command.orderId ?? newOrderId(),
        type: command.type,
        customerId: command.customerId,
        channel: command.channel,
        items: command.items,
        couponCode: command.couponCode,
        shippingAddress: command.shippingAddress,
        policy: this.policy(command.type, command.paymentTimeoutMs),
        requestId: command.requestId,
      },
      command.quote ? formatMoney(command.quote.total, command.quote.currency) : undefined,
    );
  }

  /** An order placed in another order system joins here (type `external`), answered once it is placed. */
  async importOrder(command: ImportOrderCommand): Promise<OrderState> {
    const { imported } = command;
    return this.start(
      {
        orderId: command.orderId,
        type: 'external',
        customerId: command.customerId,
        channel: command.channel,
        items: imported.lines.map(({ sku, quantity }) => ({ sku, quantity })),
        shippingAddress: command.shippingAddress,
        policy: this.policy('external'),
        requestId: command.requestId,
        imported,
      },
      command.currency ? formatMoney(imported.amounts.total, command.currency) : undefined,
    );
  }

  /** Starts the order's workflow with its placement as an Update: refusals come back before the answer. */
  private async start(input: OrderWorkflowInput, total: string | undefined): Promise<OrderState> {
    // A namespace without the order's search attributes would refuse the start: a 503 that names them.
    await this.searchAttributes?.ensure();
    const { orderId, type, customerId, items } = input;
    const channel = input.channel ?? 'web';
    const quantity = items.reduce((n, i) => n + i.quantity, 0);
    const start = new WithStartWorkflowOperation<(input: OrderWorkflowInput) => Promise<OrderWorkflowResult>>(
      ORDER_WORKFLOW_TYPE,
      {
        workflowId: orderId,
        taskQueue: this.config.TASK_QUEUE,
        args: [input],
        // A retried create joins the running workflow instead of starting a second one.
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: [
          { key: searchAttributes.OrderType, value: type },
          { key: searchAttributes.CustomerId, value: customerId },
          { key: searchAttributes.OrderChannel, value: channel },
          { key: searchAttributes.OrderStatus, value: 'PLACING' },
        ],
        staticSummary: [
          `${type} order ${orderId}`,
          `customer ${customerId}${channel === 'web' ? '' : ` of ${channel}`}`,
          `${quantity} item(s)`,
          ...(input.imported ? [`imported, ${input.imported.externalId} there`] : []),
          ...(total ? [`total ${total}`] : []),
        ].join(' · '),
        staticDetails: items.map((i) => `- ${i.quantity} × ${i.sku}`).join('\n'),
      },
    );
    const order = await this.answered(() =>
      this.client.workflow.executeUpdateWithStart(createOrderUpdate, {
        startWorkflowOperation: start,
        updateId: 'create',
      }),
    );
    this.metrics?.ordersPlaced.inc({ type });
    return order;
  }

  /**
   * `shown`: the order as the caller was shown it (PostgreSQL). `updateId`: the same id twice is
   * one Update (Temporal answers the second with the first's result).
   */
  async act(
    shown: Pick<OrderState, 'id' | 'type' | 'status'>,
    request: ActionRequest,
    updateId: string = randomUUID(),
  ): Promise<OrderState> {
    for (let attempt = 1; ; attempt++) {
      try {
        // One id per request, kept across retries: an Update that did land is answered, not run twice.
        return await this.retryLostUpdate(shown.id, () =>
          this.client.workflow
            .getHandle(shown.id)
            .executeUpdate(orderActionUpdate, { args: [request], updateId }),
        );
      } catch (err) {
        if (attempt >= 5 || !workflowIsBehind(err, shown, request)) {
          // Not awaited: the caller's 503 does not wait on a server that may be the one down.
          if (request.action === 'pay' && unanswered(err)) void this.payUnanswered(shown.id, updateId);
          throw err;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  /**
   * A pay the workflow did not answer may have charged in an Update that was then lost: the
   * workflow is told, so that an order ending unpaid keeps looking for that charge. Best effort (the
   * caller's 503 stands either way).
   */
  private async payUnanswered(orderId: string, updateId: string): Promise<void> {
    await this.client
      .withDeadline(Date.now() + 5_000, () =>
        this.client.workflow.getHandle(orderId).signal(payUnansweredSignal, { updateId }),
      )
      .catch(() => undefined);
  }

  /** A warehouse's news, to its fulfilment's workflow; false if there is none (ended, or never started). */
  async fulfilmentNews(record: FulfilmentRecord): Promise<boolean> {
    try {
      await this.answered(() =>
        this.client.workflow.getHandle(workflowIdOf(record)).signal(fulfilmentNewsSignal, record),
      );
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /** Whether the order's workflow still runs (false once it has closed, or if there is none). */
  async orderWorkflowRunning(orderId: string): Promise<boolean> {
    try {
      const { status } = await this.answered(() => this.client.workflow.getHandle(orderId).describe());
      return status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /**
   * The provider's news of a charge, for the order's workflow; false when there is no running
   * workflow to tell (the order ended long ago: nothing of it is pending).
   */
  async paymentUpdate(orderId: string, update: PaymentUpdate): Promise<boolean> {
    try {
      await this.answered(() => this.client.workflow.getHandle(orderId).signal(paymentUpdateSignal, update));
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async actOnReturn(
    returnId: string,
    request: ReturnActionRequest,
    updateId: string = randomUUID(),
  ): Promise<ReturnRecord> {
    return this.retryLostUpdate(returnId, () =>
      this.client.workflow
        .getHandle(returnId)
        .executeUpdate(returnActionUpdate, { args: [request], updateId }),
    );
  }

  async actOnClaim(
    claimId: string,
    request: ClaimActionRequest,
    updateId: string = randomUUID(),
  ): Promise<ClaimRecord> {
    return this.retryLostUpdate(claimId, () =>
      this.client.workflow.getHandle(claimId).executeUpdate(claimActionUpdate, { args: [request], updateId }),
    );
  }

  async actOnExchange(
    exchangeId: string,
    request: ExchangeActionRequest,
    updateId: string = randomUUID(),
  ): Promise<ExchangeRecord> {
    return this.retryLostUpdate(exchangeId, () =>
      this.client.workflow
        .getHandle(exchangeId)
        .executeUpdate(exchangeActionUpdate, { args: [request], updateId }),
    );
  }

  /** A provider's news of an exchange's pending payment (its difference), for its workflow. */
  async exchangePaymentNews(exchangeId: string, update: PaymentUpdate): Promise<boolean> {
    try {
      await this.answered(() =>
        this.client.workflow.getHandle(exchangeId).signal(exchangePaymentSignal, update),
      );
      return true;
    } catch (err) {
      // An exchange that has ended has nothing more to hear.
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /**
   * Many Updates at once on one workflow can come back NOT_FOUND while it is running (the server
   * dropped an Update it was juggling); that is not a missing order, so ask again, a few times.
   */
  private async retryLostUpdate<T>(workflowId: string, send: () => Promise<T>): Promise<T> {
    return this.answered(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await send();
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          const { status } = await this.client.workflow.getHandle(workflowId).describe();
          // Ended by an operator (terminated, reset away) while the order center still shows it open.
          if (status.name !== 'RUNNING')
            throw new ConflictError(`the workflow of ${workflowId} has ended (${status.name})`, {
              workflowStatus: status.name,
            });
          // Running, and still not taking it: busy, not missing (a 404 would be stored with the key).
          if (attempt >= 4)
            throw new DomainError('the workflow did not take the request; retry shortly', 503);
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
    });
  }

  /**
   * A workflow whose workers are all down never answers: after ORDER_ANSWER_TIMEOUT the caller gets
   * a 503 (api/problem.ts) instead of a request that hangs. The Update stays with the server and
   * runs when a worker is back, so a retry finds its effect (or is refused by the machine).
   */
  private answered<T>(call: () => Promise<T>): Promise<T> {
    return this.client.withDeadline(Date.now() + this.config.ORDER_ANSWER_TIMEOUT, call);
  }
}

/**
 * No answer from the workflow (a deadline, an unreachable server, an Update the server kept
 * dropping): what api/problem.ts answers as an outage, and not the workflow's own answer (a
 * refusal, a payment provider's outage it met). A bug's 500 is not one.
 */
export function unanswered(err: unknown): boolean {
  return !(err instanceof WorkflowUpdateFailedError) && toProblem(err).status === 503;
}

/**
 * After a worker crash the order center can be one transition ahead of the workflow's durable
 * history: a local activity wrote the transition, and the workflow task that recorded it was lost.
 * The next worker redoes it once the action is sent again (by its caller, or by a worker:
 * worker/unsettled-actions.ts), but an action delivered before that is judged on the state before
 * it. A refusal (409) naming another status than the one the caller was shown, for an action the
 * machine allows in the shown one, is that: ask again once the workflow has caught up.
 * (A refused Update leaves nothing behind, so asking again cannot act twice.)
 */
export function workflowIsBehind(
  err: unknown,
  shown: Pick<OrderState, 'type' | 'status'>,
  request: ActionRequest,
): boolean {
  if (!(err instanceof WorkflowUpdateFailedError) || !(err.cause instanceof ApplicationFailure)) return false;
  if (err.cause.type !== FailureType.IllegalTransition) return false;
  const refusedIn = (err.cause.details?.[0] as { status?: string } | undefined)?.status;
  return (
    refusedIn !== undefined &&
    refusedIn !== shown.status &&
    decide(machineFor(shown.type), shown.status, request.action, request.actor.role).ok
  );
}

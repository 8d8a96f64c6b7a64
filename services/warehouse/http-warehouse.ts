/**
 * The warehouse adapter for the sandbox warehouse service (and any provider speaking its shape):
 * POST /v1/fulfilments with the request's id, GET /v1/fulfilments/:id, POST .../cancel and
 * .../recall. No answer, a 409, 429 or
 * 5xx is a TransientWarehouseError (retried with the same id); another 4xx is a bug, never retried.
 */
import type { LineQuantity } from '../../domain/order';
import type { FulfilmentRecord, FulfilmentStatus } from '../../domain/fulfilment';
import { TransientWarehouseError, type Warehouse } from './warehouse';

/** A fulfilment as the warehouse's API and events show it. */
export interface Fulfilment {
  id: string;
  order_id: string;
  location: string;
  status: FulfilmentStatus;
  items: LineQuantity[];
  picked?: LineQuantity[] | null;
  carrier?: string | null;
  tracking_number?: string | null;
}

export function toFulfilmentRecord(f: Fulfilment): FulfilmentRecord {
  return {
    id: f.id,
    orderId: f.order_id,
    location: f.location,
    status: f.status,
    items: f.items,
    ...(f.picked ? { picked: f.picked } : {}),
    ...(f.carrier ? { carrier: f.carrier } : {}),
    ...(f.tracking_number ? { trackingNumber: f.tracking_number } : {}),
  };
}

export class HttpWarehouse implements Warehouse {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 5000,
  ) {}

  private async call<T>(method: 'GET' | 'POST', path: string, body?: object): Promise<T | null> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      throw new TransientWarehouseError(`no answer from the warehouse (${method})`);
    }
    if (res.status === 404 && method === 'GET') return null;
    if (res.status === 409 || res.status === 429 || res.status >= 500)
      throw new TransientWarehouseError(`the warehouse answered ${res.status}`);
    if (!res.ok) throw new Error(`the warehouse refused ${method}: ${res.status}`);
    return (await res.json()) as T;
  }

  async request(input: { id: string; orderId: string; location: string; items: LineQuantity[] }) {
    const f = await this.call<Fulfilment>('POST', '/v1/fulfilments', {
      id: input.id,
      order_id: input.orderId,
      location: input.location,
      items: input.items,
    });
    return toFulfilmentRecord(f!);
  }

  async cancel(id: string): Promise<FulfilmentRecord | 'too_late'> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/v1/fulfilments/${encodeURIComponent(id)}/cancel`, {
        method: 'POST',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      throw new TransientWarehouseError('no answer from the warehouse (cancel)');
    }
    if (res.ok) {
      // Cancelling again answers the same: an answer cut short is asked for again.
      const row = (await res.json().catch(() => null)) as Fulfilment | null;
      if (!row) throw new TransientWarehouseError('the warehouse answered the cancel without its fulfilment');
      return toFulfilmentRecord(row);
    }
    // A request still on its way (its answer lost) is not there yet: asked again until it is.
    if (res.status === 404 || res.status === 429 || res.status >= 500)
      throw new TransientWarehouseError(`the warehouse answered ${res.status}`);
    if (res.status === 409) return 'too_late';
    throw new Error(`the warehouse refused the cancel: ${res.status}`);
  }

  async recall(id: string) {
    const f = await this.call<Fulfilment>('POST', `/v1/fulfilments/${encodeURIComponent(id)}/recall`);
    return toFulfilmentRecord(f!);
  }

  async get(id: string) {
    const f = await this.call<Fulfilment>('GET', `/v1/fulfilments/${encodeURIComponent(id)}`);
    return f ? toFulfilmentRecord(f) : null;
  }
}

/**
 * The code vendor digital goods' codes come from: issue one per order (by the order's id, so a
 * retry after a lost answer gets the same code), void it when the goods are refunded. One adapter,
 * HTTP, for the sandbox's vendor (sandboxes/warehouse) and any vendor speaking its shape.
 */
export interface CodeVendor {
  issue(input: { id: string; orderId: string }): Promise<string>;
  void(id: string): Promise<void>;
}

/** No answer, or a hiccup: tried again with the same id. */
export class TransientVendorError extends Error {
  override name = 'TransientVendorError';
}

/** The vendor said no (out of codes, the account refused): asking again at once would not help. */
export class VendorRefusedError extends Error {
  override name = 'VendorRefusedError';
  constructor(readonly status: number) {
    super(`the code vendor refused: ${status}`);
  }
}

export class HttpCodeVendor implements CodeVendor {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 5000,
  ) {}

  private async post(path: string, body?: object): Promise<{ code: string } | null> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      throw new TransientVendorError('no answer from the code vendor');
    }
    if (res.status === 404) return null;
    if (res.status === 409 || res.status === 429 || res.status >= 500)
      throw new TransientVendorError(`the code vendor answered ${res.status}`);
    if (!res.ok) throw new VendorRefusedError(res.status);
    return (await res.json()) as { code: string };
  }

  async issue(input: { id: string; orderId: string }): Promise<string> {
    const issued = await this.post('/v1/codes', { id: input.id, order_id: input.orderId });
    if (!issued) throw new Error('the code vendor has no codes endpoint');
    return issued.code;
  }

  /** A code the vendor never issued (made before there was a vendor) has nothing to void there. */
  async void(id: string): Promise<void> {
    await this.post(`/v1/codes/${encodeURIComponent(id)}/void`);
  }
}

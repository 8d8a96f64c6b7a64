/**
 * The sandbox warehouse service's HTTP API, as a third-party logistics provider's: a fulfilment
 * request per location and order (created once per id: a retry answers with the first), read
 * back one by one or per order, cancelled while it has not shipped (409 `too_late` after), and
 * once shipped, recalled from the carrier (it comes back instead of being delivered).
 * Per-location switches make it behave as warehouses do on a bad day:
 *   PUT /v1/sandbox/locations/:id { refuse, shortBy, loseAnswer, failDelivery, stallAfter, holdNews, ignoreRecall }.
 * Steps happen over time (./main.ts), each an event posted, signed, to the client's endpoint.
 * The same process is the sandbox's code vendor for digital goods: POST /v1/codes (once per id),
 * GET /v1/codes/:id, POST /v1/codes/:id/void; `PUT /v1/sandbox/codes/:orderId { refuse }` makes it
 * refuse an order's code (422 `out_of_codes`), as a vendor out of codes does, and to void one it
 * issued (422 `code_redeemed`, as for a code already used), until set back.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { describeError } from '../payments/ledger';
import { fulfilmentView, STEPS, type Books, type CodeRow, type Line, type Switches } from './books';

const ID = /^[A-Za-z0-9._:-]{1,200}$/;

function error(res: Response, status: number, type: string, message: string) {
  res.status(status).json({ error: { type, message } });
}

const handle =
  (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);

const isLines = (items: unknown): items is Line[] =>
  Array.isArray(items) &&
  items.length > 0 &&
  items.length <= 100 &&
  items.every(
    (l) =>
      typeof l?.sku === 'string' &&
      ID.test(l.sku) &&
      Number.isSafeInteger(l.quantity) &&
      l.quantity > 0 &&
      l.quantity <= 1_000_000,
  );

export function sandboxWarehouseApp(books: Books) {
  const app = express();
  app.use(express.json({ limit: '64kb' }));
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));

  app.post(
    '/v1/fulfilments',
    handle(async (req, res) => {
      const body = req.body as Record<string, unknown>;
      const { id, order_id: orderId, location, items } = body;
      if (typeof id !== 'string' || !ID.test(id) || typeof orderId !== 'string' || !ID.test(orderId))
        return error(res, 400, 'invalid_request', 'id and order_id are ids');
      if (typeof location !== 'string' || !ID.test(location))
        return error(res, 400, 'invalid_request', 'location is an id');
      if (!isLines(items)) return error(res, 400, 'invalid_request', 'items are 1 to 100 { sku, quantity }');
      const { row, created } = await books.request({
        id,
        orderId,
        location,
        items: items.map((l) => ({ sku: l.sku, quantity: l.quantity })),
      });
      // The first answer to each request is lost (the connection drops); a retry hears the first's.
      if (created && (await books.switchesOf(location)).loseAnswer) return void req.socket.destroy();
      res.status(created ? 201 : 200).json(fulfilmentView(row));
    }),
  );

  app.get(
    '/v1/fulfilments/:id',
    handle(async (req, res) => {
      const row = await books.get(String(req.params.id));
      if (!row) return error(res, 404, 'not_found', 'no such fulfilment');
      res.json(fulfilmentView(row));
    }),
  );

  app.get(
    '/v1/fulfilments',
    handle(async (req, res) => {
      const orderId = req.query.order_id;
      if (typeof orderId !== 'string' || !ID.test(orderId))
        return error(res, 400, 'invalid_request', 'order_id is required');
      res.json({ data: (await books.ofOrder(orderId)).map(fulfilmentView) });
    }),
  );

  app.post(
    '/v1/fulfilments/:id/cancel',
    handle(async (req, res) => {
      const row = await books.cancel(String(req.params.id));
      if (!row) return error(res, 404, 'not_found', 'no such fulfilment');
      if (row.status !== 'cancelled' && row.status !== 'refused')
        return error(res, 409, 'too_late', `the fulfilment is ${row.status}`);
      res.json(fulfilmentView(row));
    }),
  );

  // Only a parcel that has left can be recalled; one still in the building is cancelled instead.
  app.post(
    '/v1/fulfilments/:id/recall',
    handle(async (req, res) => {
      const row = await books.recall(String(req.params.id));
      if (!row) return error(res, 404, 'not_found', 'no such fulfilment');
      if (!['shipped', 'in_transit', 'delivered', 'delivery_failed'].includes(row.status))
        return error(res, 409, 'not_shipped', `the fulfilment is ${row.status}`);
      res.json(fulfilmentView(row));
    }),
  );

  // The code vendor: digital goods' codes, issued once per id, voided when the goods are refunded.
  const codeView = (row: CodeRow) => ({
    id: row.id,
    object: 'code',
    order_id: row.order_id,
    code: row.code,
    status: row.status,
  });
  // Orders whose codes are refused for now (a switch of this process only: a sandbox's bad day).
  const refusedCodes = new Set<string>();
  app.post(
    '/v1/codes',
    handle(async (req, res) => {
      const { id, order_id: orderId } = req.body as Record<string, unknown>;
      if (typeof id !== 'string' || !ID.test(id) || typeof orderId !== 'string' || !ID.test(orderId))
        return error(res, 400, 'invalid_request', 'id and order_id are ids');
      if (refusedCodes.has(orderId)) return error(res, 422, 'out_of_codes', 'no code can be issued');
      const { row, created } = await books.issueCode(id, orderId);
      res.status(created ? 201 : 200).json(codeView(row));
    }),
  );
  app.get(
    '/v1/codes/:id',
    handle(async (req, res) => {
      const row = await books.code(String(req.params.id));
      if (!row) return error(res, 404, 'not_found', 'no such code');
      res.json(codeView(row));
    }),
  );
  app.post(
    '/v1/codes/:id/void',
    handle(async (req, res) => {
      const issued = await books.code(String(req.params.id));
      // A vendor that will not void a code (already redeemed, say) while its order's switch is on.
      if (issued && issued.status === 'active' && refusedCodes.has(issued.order_id))
        return error(res, 422, 'code_redeemed', 'the code was redeemed and cannot be voided');
      const row = await books.voidCode(String(req.params.id));
      if (!row) return error(res, 404, 'not_found', 'no such code');
      res.json(codeView(row));
    }),
  );

  app.put(
    '/v1/sandbox/locations/:id',
    handle(async (req, res) => {
      const location = String(req.params.id);
      const body = req.body as Switches;
      if (!ID.test(location)) return error(res, 400, 'invalid_request', 'location is an id');
      if (body.stallAfter !== undefined && !STEPS.includes(body.stallAfter))
        return error(res, 400, 'invalid_request', 'stallAfter is a step');
      const switches: Switches = {
        ...(body.refuse === true ? { refuse: true } : {}),
        ...(Number.isSafeInteger(body.shortBy) && body.shortBy! > 0 ? { shortBy: body.shortBy } : {}),
        ...(body.loseAnswer === true ? { loseAnswer: true } : {}),
        ...(body.failDelivery === true ? { failDelivery: true } : {}),
        ...(body.stallAfter ? { stallAfter: body.stallAfter } : {}),
        ...(body.holdNews === true ? { holdNews: true } : {}),
        ...(body.ignoreRecall === true ? { ignoreRecall: true } : {}),
      };
      await books.setSwitches(location, switches);
      res.json({ location, switches });
    }),
  );

  app.put(
    '/v1/sandbox/codes/:orderId',
    handle(async (req, res) => {
      const orderId = String(req.params.orderId);
      if (!ID.test(orderId)) return error(res, 400, 'invalid_request', 'orderId is an id');
      const refuse = (req.body as { refuse?: unknown }).refuse === true;
      if (refuse) refusedCodes.add(orderId);
      else refusedCodes.delete(orderId);
      res.json({ orderId, refuse });
    }),
  );

  app.use((_req: Request, res: Response) => error(res, 404, 'not_found', 'no such route'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if ((err as { type?: string })?.type === 'entity.parse.failed')
      return error(res, 400, 'invalid_request', 'the body is not valid JSON');
    console.error(`request failed: ${describeError(err)}`);
    error(res, 500, 'api_error', 'unexpected error');
  });
  return app;
}

/** Direct access to the stack's PostgreSQL and Temporal, for assertions the API does not expose. */
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { dataConverterFor } from '../../codec/data-converter';
import { loadConfig } from '../../config';
import { createDb, type Db } from '../../db/knex';
import { auditOrderBooks } from '../../audit/invariants';
import { auditStock, type StockAudit } from '../../services/inventory/audit';

export function testDb(): Db {
  if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set: run through jest');
  return createDb(process.env.DATABASE_URL, { pool: { min: 0, max: 5 } });
}

/** Drops a database a test made for itself beside the stack's (devstack/postgres.ts `databaseBeside`). */
export async function dropOwnDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    const name = new URL(url).pathname.slice(1);
    if (/^\w+$/.test(name)) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export async function testTemporal(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  // The same codec as the stack's (payloads are encrypted in the test stack).
  return {
    client: new Client({ connection, dataConverter: dataConverterFor(loadConfig(process.env)) }),
    close: () => connection.close(),
  };
}

/** How many times a workflow scheduled an activity of this type (each try again is one more; retries of one are not). */
export async function scheduledActivities(workflowId: string, activityType: string): Promise<number> {
  const temporal = await testTemporal();
  try {
    const { events } = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
    return (events ?? []).filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType,
    ).length;
  } finally {
    await temporal.close();
  }
}

/**
 * The ids of the workflows a visibility query finds, asked again (at most `withinMs`) until
 * `enough` holds: Temporal writes its visibility store after the history, so a query made just
 * after a start, an upsert or a close may not see it yet.
 */
export async function listedWorkflows(
  client: Client,
  query: string,
  enough: (ids: string[]) => boolean = (ids) => ids.length > 0,
  withinMs = 15_000,
): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
    if (enough(ids) || Date.now() > deadline) return ids;
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface ProviderPayment {
  order_id: string;
  status: 'succeeded' | 'declined' | 'processing' | 'requires_capture' | 'canceled';
  amount: number;
  /** What was captured (null until then). */
  amount_captured: number | null;
  decline_code: string | null;
  attempts: number;
}

/**
 * The sandbox payment service's own books (its database, as its dashboard would show them): an
 * order's charges, oldest first, `declined` for what Stripe calls `requires_payment_method`.
 */
export async function providerPayments(orderIds: string | string[]): Promise<ProviderPayment[]> {
  const db = providerDb();
  try {
    const rows = await db('sandbox_payment_intents')
      .whereIn('order_id', Array.isArray(orderIds) ? orderIds : [orderIds])
      .orderBy('created_at')
      .orderBy('id')
      .select('order_id', 'status', 'amount', 'amount_captured', 'decline_code', 'attempts');
    return rows.map((r) => ({
      ...r,
      amount: Number(r.amount),
      amount_captured: r.amount_captured === null ? null : Number(r.amount_captured),
      status: r.status === 'requires_payment_method' ? 'declined' : r.status,
    }));
  } finally {
    await db.destroy();
  }
}

/** The provider's refunds of an order, oldest first. */
export async function providerRefunds(
  orderId: string,
): Promise<{ id: string; amount: number; reason: string | null }[]> {
  const db = providerDb();
  try {
    const rows = await db('sandbox_refunds').where('order_id', orderId).orderBy('created_at').orderBy('id');
    return rows.map((r) => ({
      id: r.id as string,
      amount: Number(r.amount),
      reason: r.reason as string | null,
    }));
  } finally {
    await db.destroy();
  }
}

/** What the provider has refunded on an order, in all. */
export async function providerRefunded(orderId: string): Promise<number> {
  return (await providerRefunds(orderId)).reduce((a, r) => a + r.amount, 0);
}

function providerDb(): Db {
  if (!process.env.PAYMENT_SANDBOX_DATABASE_URL)
    throw new Error('PAYMENT_SANDBOX_DATABASE_URL is not set: run through jest');
  return createDb(process.env.PAYMENT_SANDBOX_DATABASE_URL, { pool: { min: 0, max: 2 } });
}

/**
 * The stock books of these SKUs balance: each level against its ledger, and each order's own
 * movements (nothing sold or released beyond its holds, restocked or lost beyond its sales,
 * nothing held by a closed order).
 */
export async function expectBooksBalance(db: Db, skus: string[]): Promise<StockAudit[]> {
  const levels = await auditStock(db, skus);
  for (const level of levels) expect(level).toMatchObject({ balanced: true });
  expect(await auditOrderBooks(db, { skus })).toEqual([]);
  return levels;
}

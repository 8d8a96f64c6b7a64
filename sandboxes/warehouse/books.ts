/**
 * The sandbox warehouse's own books, in its own database: fulfilment requests, each accepted once
 * per id, the steps each has taken, and the events waiting to be posted. Nothing here knows the
 * order service; it knows locations, SKUs, quantities and the ids a client sends.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

/** A fulfilment's steps, in order; `refused` and `cancelled` end it early. */
export const STEPS = ['accepted', 'picked', 'packed', 'shipped', 'in_transit', 'delivered'] as const;
export type Step = (typeof STEPS)[number];
export type FulfilmentStatus = Step | 'refused' | 'cancelled' | 'delivery_failed';

export interface Line {
  sku: string;
  quantity: number;
}

export interface FulfilmentRow {
  id: string;
  order_id: string;
  location: string;
  items: Line[];
  /** What was picked: fewer than asked when the shelf was short. */
  picked: Line[] | null;
  status: FulfilmentStatus;
  carrier: string | null;
  tracking_number: string | null;
  /** Asked back from the carrier after it shipped (its order was cancelled): it ends `delivery_failed`, back at its location. */
  recalled_at: Date | null;
  next_step_at: Date;
  created_at: Date;
  updated_at: Date;
}

/** A digital code the vendor issued for an order. */
export interface CodeRow {
  id: string;
  order_id: string;
  code: string;
  status: 'active' | 'voided';
  created_at: Date;
  voided_at: Date | null;
}

/** Per location, how the warehouse misbehaves (PUT /v1/sandbox/locations/:id). */
export interface Switches {
  /** Every request for this location is refused. */
  refuse?: boolean;
  /** The pick finds this many fewer units of the first line than asked. */
  shortBy?: number;
  /** Accepted, and the first answer is lost (the connection drops). */
  loseAnswer?: boolean;
  /** The carrier cannot deliver: the last step is `delivery_failed`. */
  failDelivery?: boolean;
  /** Steps stop after this one: the fulfilment stalls. */
  stallAfter?: Step;
  /** The location's news is held back (its events wait): the client hears nothing until it is switched off. */
  holdNews?: boolean;
  /** The carrier delivers a recalled parcel all the same (the recall came too late). */
  ignoreRecall?: boolean;
}

export async function ensureSchema(db: Knex): Promise<void> {
  if (!(await db.schema.hasTable('warehouse_fulfilments'))) {
    await db.schema.createTable('warehouse_fulfilments', (t) => {
      t.text('id').primary();
      t.text('order_id').notNullable().index();
      t.text('location').notNullable();
      t.jsonb('items').notNullable();
      t.jsonb('picked');
      t.text('status').notNullable();
      t.text('carrier');
      t.text('tracking_number');
      t.timestamp('next_step_at', { useTz: true }).notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    });
  }
  if (!(await db.schema.hasTable('warehouse_switches'))) {
    await db.schema.createTable('warehouse_switches', (t) => {
      t.text('location').primary();
      t.jsonb('switches').notNullable();
    });
  }
  // The code vendor's books: one code per request id, voidable.
  if (!(await db.schema.hasTable('vendor_codes'))) {
    await db.schema.createTable('vendor_codes', (t) => {
      t.text('id').primary();
      t.text('order_id').notNullable();
      t.text('code').notNullable().unique();
      t.text('status').notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.timestamp('voided_at', { useTz: true });
    });
  }
  if (!(await db.schema.hasTable('warehouse_events'))) {
    await db.schema.createTable('warehouse_events', (t) => {
      t.text('id').primary();
      t.text('fulfilment_id').notNullable();
      t.jsonb('payload').notNullable();
      t.integer('attempts').notNullable().defaultTo(0);
      t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.timestamp('delivered_at', { useTz: true });
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.index(['delivered_at', 'next_attempt_at']);
    });
  }
  // Added after the first books were made: sandbox databases from before gain it.
  if (!(await db.schema.hasColumn('warehouse_fulfilments', 'recalled_at')))
    await db.schema.alterTable('warehouse_fulfilments', (t) => {
      t.timestamp('recalled_at', { useTz: true });
    });
}

export class Books {
  constructor(
    private readonly db: Knex,
    /** How long each step takes. */
    private readonly stepMs: number,
  ) {}

  switchesOf(location: string): Promise<Switches> {
    return this.db('warehouse_switches')
      .where({ location })
      .first('switches')
      .then((r) => (r?.switches as Switches | undefined) ?? {});
  }

  async setSwitches(location: string, switches: Switches): Promise<void> {
    await this.db('warehouse_switches')
      .insert({ location, switches: JSON.stringify(switches) })
      .onConflict('location')
      .merge();
  }

  /** Accepted (or refused) once per id: a retry finds the first answer. */
  async request(input: { id: string; orderId: string; location: string; items: Line[] }): Promise<{
    row: FulfilmentRow;
    created: boolean;
  }> {
    const refused = (await this.switchesOf(input.location)).refuse === true;
    return this.db.transaction(async (trx) => {
      const inserted = await trx('warehouse_fulfilments')
        .insert({
          id: input.id,
          order_id: input.orderId,
          location: input.location,
          items: JSON.stringify(input.items),
          status: refused ? 'refused' : 'accepted',
          next_step_at: new Date(Date.now() + this.stepMs),
        })
        .onConflict('id')
        .ignore()
        .returning('*');
      if (inserted[0]) {
        await this.announce(trx, inserted[0] as FulfilmentRow);
        return { row: inserted[0] as FulfilmentRow, created: true };
      }
      return {
        row: (await trx('warehouse_fulfilments').where('id', input.id).first()) as FulfilmentRow,
        created: false,
      };
    });
  }

  /** A code, issued once per id: a retry answers with the first. */
  async issueCode(id: string, orderId: string): Promise<{ row: CodeRow; created: boolean }> {
    const inserted = await this.db('vendor_codes')
      .insert({ id, order_id: orderId, code: randomBytes(8).toString('hex').toUpperCase(), status: 'active' })
      .onConflict('id')
      .ignore()
      .returning('*');
    if (inserted[0]) return { row: inserted[0] as CodeRow, created: true };
    return { row: (await this.db('vendor_codes').where({ id }).first()) as CodeRow, created: false };
  }

  code(id: string): Promise<CodeRow | undefined> {
    return this.db('vendor_codes').where({ id }).first();
  }

  /** The code stops working; voiding it again changes nothing. */
  async voidCode(id: string): Promise<CodeRow | undefined> {
    await this.db('vendor_codes')
      .where({ id, status: 'active' })
      .update({ status: 'voided', voided_at: this.db.fn.now() });
    return this.code(id);
  }

  get(id: string): Promise<FulfilmentRow | undefined> {
    return this.db('warehouse_fulfilments').where({ id }).first();
  }

  ofOrder(orderId: string): Promise<FulfilmentRow[]> {
    return this.db('warehouse_fulfilments').where({ order_id: orderId }).orderBy('created_at');
  }

  /** Cancelled if it has not left the building; otherwise it stands (the caller hears `too_late`). */
  async cancel(id: string): Promise<FulfilmentRow | undefined> {
    return this.db.transaction(async (trx) => {
      const row: FulfilmentRow | undefined = await trx('warehouse_fulfilments')
        .where({ id })
        .forUpdate()
        .first();
      if (!row || !['accepted', 'picked', 'packed'].includes(row.status)) return row;
      const [updated] = await trx('warehouse_fulfilments')
        .where({ id })
        .update({ status: 'cancelled', updated_at: trx.fn.now() })
        .returning('*');
      await this.announce(trx, updated as FulfilmentRow);
      return updated as FulfilmentRow;
    });
  }

  /**
   * A parcel already with the carrier is asked back: it comes back to its location instead of
   * being delivered (`delivery_failed`). Asking again changes nothing; a parcel already delivered
   * stays so (the answer says `delivered`). Undefined when there is no such fulfilment.
   */
  async recall(id: string): Promise<FulfilmentRow | undefined> {
    await this.db('warehouse_fulfilments')
      .where({ id })
      .whereIn('status', ['shipped', 'in_transit'])
      .whereNull('recalled_at')
      .update({ recalled_at: this.db.fn.now(), updated_at: this.db.fn.now() });
    return this.get(id);
  }

  /** Takes every due fulfilment one step further, each with its event, in one transaction apiece. */
  async advanceDue(): Promise<void> {
    const due: FulfilmentRow[] = await this.db('warehouse_fulfilments')
      .whereIn('status', STEPS.slice(0, -1))
      .andWhere('next_step_at', '<=', new Date())
      .limit(100);
    for (const row of due) {
      const switches = await this.switchesOf(row.location);
      if (switches.stallAfter && STEPS.indexOf(row.status as Step) >= STEPS.indexOf(switches.stallAfter))
        continue;
      await this.db.transaction(async (trx) => {
        const current: FulfilmentRow | undefined = await trx('warehouse_fulfilments')
          .where({ id: row.id, status: row.status })
          .forUpdate()
          .first();
        if (!current) return;
        const next = STEPS[STEPS.indexOf(current.status as Step) + 1]!;
        const change: Record<string, unknown> = {
          status:
            next === 'delivered' && (switches.failDelivery || (current.recalled_at && !switches.ignoreRecall))
              ? 'delivery_failed'
              : next,
          next_step_at: new Date(Date.now() + this.stepMs),
          updated_at: trx.fn.now(),
        };
        if (next === 'picked')
          change.picked = JSON.stringify(
            current.items.map((l, i) =>
              i === 0 && switches.shortBy
                ? { ...l, quantity: Math.max(0, l.quantity - switches.shortBy) }
                : l,
            ),
          );
        if (next === 'shipped') {
          change.carrier = 'SBX Parcel';
          change.tracking_number = `SBX${randomBytes(6).toString('hex').toUpperCase()}`;
        }
        const [updated] = await trx('warehouse_fulfilments')
          .where({ id: row.id })
          .update(change)
          .returning('*');
        await this.announce(trx, updated as FulfilmentRow);
      });
    }
  }

  /** Each change of a fulfilment is an event, kept until the client's endpoint takes it. */
  private async announce(trx: Knex, row: FulfilmentRow): Promise<void> {
    const id = `whe_${randomBytes(12).toString('hex')}`;
    const payload = {
      id,
      type: `fulfilment.${row.status}`,
      created: Math.floor(Date.now() / 1000),
      data: { object: fulfilmentView(row) },
    };
    await trx('warehouse_events').insert({ id, fulfilment_id: row.id, payload: JSON.stringify(payload) });
  }

  /**
   * Undelivered events, oldest first, per fulfilment in order: a later one waits for an earlier one.
   * A location whose news is held back (`holdNews`) keeps its events.
   */
  async eventsDue(): Promise<{ id: string; payload: unknown }[]> {
    return this.db('warehouse_events as e')
      .whereNull('e.delivered_at')
      .andWhere('e.next_attempt_at', '<=', new Date())
      .whereNotExists(
        this.db('warehouse_fulfilments as f')
          .join('warehouse_switches as s', 's.location', 'f.location')
          .whereRaw('f.id = e.fulfilment_id')
          .whereRaw(`(s.switches->>'holdNews')::boolean`),
      )
      .whereNotExists(
        this.db('warehouse_events as earlier')
          .whereRaw('earlier.fulfilment_id = e.fulfilment_id')
          .whereNull('earlier.delivered_at')
          .whereRaw('earlier.created_at < e.created_at'),
      )
      .orderBy('e.created_at')
      .limit(100)
      .select('e.id', 'e.payload');
  }

  async delivered(id: string): Promise<void> {
    await this.db('warehouse_events').where({ id }).update({ delivered_at: this.db.fn.now() });
  }

  /** Not taken: tried again later, backing off up to a minute. */
  async deferred(id: string): Promise<void> {
    await this.db('warehouse_events')
      .where({ id })
      .update({
        attempts: this.db.raw('attempts + 1'),
        next_attempt_at: this.db.raw(`now() + least(60, power(2, attempts)) * interval '1 second'`),
      });
  }
}

/** A fulfilment as the API and the events show it. */
export function fulfilmentView(row: FulfilmentRow) {
  return {
    id: row.id,
    object: 'fulfilment',
    order_id: row.order_id,
    location: row.location,
    status: row.status,
    items: row.items,
    picked: row.picked,
    carrier: row.carrier,
    tracking_number: row.tracking_number,
    recalled: row.recalled_at !== null && row.recalled_at !== undefined,
    created: Math.floor(new Date(row.created_at).getTime() / 1000),
  };
}

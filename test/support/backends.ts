/** Direct access to the stack's PostgreSQL and Temporal, for assertions the API does not expose. */
import { Client, Connection } from '@temporalio/client';
import { dataConverterFor } from '../../codec/data-converter';
import { loadConfig } from '../../config';
import { createDb, type Db } from '../../db/knex';

export function testDb(): Db {
  if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set: run through jest');
  return createDb(process.env.DATABASE_URL, { pool: { min: 0, max: 5 } });
}

export async function testTemporal(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  // The same codec as the stack's (payloads are encrypted in the test stack).
  return {
    client: new Client({ connection, dataConverter: dataConverterFor(loadConfig(process.env)) }),
    close: () => connection.close(),
  };
}

/**
 * Registers the order search attributes on a cluster that lacks them (the dev server gets them at
 * start; the time-skipping test server, or a cluster of yours, through this). Idempotent.
 * From the command line: `node --import tsx scripts/register-search-attributes.ts`.
 */
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/messages';

const TYPES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
};

export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  // The time-skipping test server can add search attributes but not list them.
  const existing = await connection.operatorService
    .listSearchAttributes({ namespace })
    .catch((err: { code?: number }) => {
      if (err?.code === 12 /* UNIMPLEMENTED */) return { customAttributes: {} };
      throw err;
    });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.entries(SEARCH_ATTRIBUTE_TYPES).filter(([name]) => !known.has(name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, TYPES[type]!])),
  });
  return missing.map(([name]) => name);
}

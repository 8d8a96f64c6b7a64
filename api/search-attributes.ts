/**
 * The order search attributes on the namespace the service uses. The dev server gets them at start;
 * a cluster of one's own or Temporal Cloud does not: the API checks at start, registers the missing
 * ones when allowed (TEMPORAL_REGISTER_SEARCH_ATTRIBUTES), and otherwise is not ready, and refuses
 * to start orders with a 503 naming them and the command that adds them, never a 500.
 */
import { ServiceError, type ConnectionLike } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/messages';

const TYPES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
};

export const REGISTER_COMMAND = 'node --import tsx scripts/register-search-attributes.ts';

/** The custom search attributes the namespace has; null where the server cannot list them (the time-skipping test server). */
async function listed(connection: ConnectionLike, namespace: string): Promise<Set<string> | null> {
  const existing = await connection.operatorService
    .listSearchAttributes({ namespace })
    .catch((err: { code?: number }) => {
      if (err?.code === 12 /* UNIMPLEMENTED */) return null;
      throw err;
    });
  return existing ? new Set(Object.keys(existing.customAttributes ?? {})) : null;
}

/** The order search attributes the namespace lacks (none, where the server cannot say). */
export async function missingSearchAttributes(
  connection: ConnectionLike,
  namespace: string,
): Promise<string[]> {
  const known = await listed(connection, namespace);
  return known ? Object.keys(SEARCH_ATTRIBUTE_TYPES).filter((name) => !known.has(name)) : [];
}

/** Registers the missing ones (all, where the server cannot list them); answers which. Idempotent. */
export async function registerSearchAttributes(
  connection: ConnectionLike,
  namespace: string,
): Promise<string[]> {
  const known = await listed(connection, namespace);
  const missing = Object.keys(SEARCH_ATTRIBUTE_TYPES).filter((name) => !known?.has(name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map((name) => [
        name,
        TYPES[SEARCH_ATTRIBUTE_TYPES[name as keyof typeof SEARCH_ATTRIBUTE_TYPES]]!,
      ]),
    ),
  });
  return missing;
}

/** Orders cannot start: the namespace lacks search attributes (a 503 naming them, api/problem.ts). */
export class SearchAttributesMissing extends Error {
  override name = 'SearchAttributesMissing';
  constructor(readonly missing: string[]) {
    super(
      `the namespace lacks the search attributes ${missing.join(', ')}: run \`${REGISTER_COMMAND}\` (in the image: \`node dist/scripts/register-search-attributes.js\`), or set TEMPORAL_REGISTER_SEARCH_ATTRIBUTES=true`,
    );
  }
}

/** Checked until they are all there (then never again); registered first when allowed. */
export class SearchAttributeGuard {
  private ok = false;

  constructor(
    private readonly connection: ConnectionLike,
    private readonly namespace: string,
    private readonly register: boolean,
  ) {}

  /** The missing ones after registering what may be; [] once all are there. Throws when Temporal does not answer. */
  async check(): Promise<string[]> {
    if (this.ok) return [];
    // An unreachable server is an outage (a 503 that loses nothing), within a bounded wait.
    const missing = await this.connection
      .withDeadline(Date.now() + 10_000, async () => {
        if (this.register) await registerSearchAttributes(this.connection, this.namespace);
        return missingSearchAttributes(this.connection, this.namespace);
      })
      .catch((err: unknown) => {
        throw new ServiceError('Temporal did not answer the search attribute check', { cause: err as Error });
      });
    this.ok = missing.length === 0;
    return missing;
  }

  /** Throws SearchAttributesMissing unless they are all there. */
  async ensure(): Promise<void> {
    const missing = await this.check();
    if (missing.length > 0) throw new SearchAttributesMissing(missing);
  }
}

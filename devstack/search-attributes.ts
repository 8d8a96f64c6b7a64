/**
 * Registers the order search attributes on a cluster that lacks them (the dev server gets them at
 * start; the time-skipping test server, or a cluster of yours, through this). Idempotent. The API
 * does the same at start when TEMPORAL_REGISTER_SEARCH_ATTRIBUTES allows (api/search-attributes.ts).
 * From the command line: `node --import tsx scripts/register-search-attributes.ts`.
 */
export { registerSearchAttributes } from '../api/search-attributes';

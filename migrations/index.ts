/**
 * Migrations in order. Listed statically (not discovered on disk) so they run the same under
 * tsx, jest and a compiled build.
 */
import type { Knex } from 'knex';
import * as m001 from './001_products_and_stock';
import * as m002 from './002_orders';
import * as m003 from './003_payments_and_production';
import * as m004 from './004_promotions_and_members';
import * as m005 from './005_refunds_and_returns';
import * as m006 from './006_idempotency_keys';
import * as m007 from './007_orders_type_index';
import * as m008 from './008_idempotency_lease';
import * as m009 from './009_delivery_code_voided';
import * as m010 from './010_inbound_events';
import * as m011 from './011_orders_total_index';
import * as m012 from './012_orders_authorized';
import * as m013 from './013_order_center_lists';
import * as m014 from './014_stock_locations';
import * as m015 from './015_fulfilments';
import * as m016 from './016_shipments_tracking';
import * as m017 from './017_order_events_and_webhooks';
import * as m018 from './018_webhook_breaker';
import * as m019 from './019_channels';
import * as m020 from './020_order_imports';
import * as m021 from './021_return_reasons';
import * as m022 from './022_goodwill_refunds';
import * as m023 from './023_order_stats_rollup';
import * as m024 from './024_claims';
import * as m025 from './025_exchanges';
import * as m026 from './026_order_edits';
import * as m027 from './027_customers_by_channel';
import * as m028 from './028_promotion_terms';
import * as m029 from './029_idempotency_outages';
import * as m030 from './030_idempotency_location';
import * as m031 from './031_webhook_claims_per_subscriber';
import * as m032 from './032_unsettled_actions';

const migrations: Record<string, Knex.Migration> = {
  '001_products_and_stock': m001,
  '002_orders': m002,
  '003_payments_and_production': m003,
  '004_promotions_and_members': m004,
  '005_refunds_and_returns': m005,
  '006_idempotency_keys': m006,
  '007_orders_type_index': m007,
  '008_idempotency_lease': m008,
  '009_delivery_code_voided': m009,
  '010_inbound_events': m010,
  '011_orders_total_index': m011,
  '012_orders_authorized': m012,
  '013_order_center_lists': m013,
  '014_stock_locations': m014,
  '015_fulfilments': m015,
  '016_shipments_tracking': m016,
  '017_order_events_and_webhooks': m017,
  '018_webhook_breaker': m018,
  '019_channels': m019,
  '020_order_imports': m020,
  '021_return_reasons': m021,
  '022_goodwill_refunds': m022,
  '023_order_stats_rollup': m023,
  '024_claims': m024,
  '025_exchanges': m025,
  '026_order_edits': m026,
  '027_customers_by_channel': m027,
  '028_promotion_terms': m028,
  '029_idempotency_outages': m029,
  '030_idempotency_location': m030,
  '031_webhook_claims_per_subscriber': m031,
  '032_unsettled_actions': m032,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};

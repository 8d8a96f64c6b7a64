/**
 * The one place that reads the environment. Every setting of the contract's configuration table
 * (../shared/API.md) plus the dev stack's own, validated once at start; a bad value stops the
 * process with a message naming the variable.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseKeys } from '../codec/encryption-codec';
import { parseDuration } from '../domain/duration';
import { parseReviewThresholds } from '../domain/review';

/** The longest a Node timer waits (2^31 − 1 ms, about 24.8 days): a longer one fires at once. */
const TIMER_MAX = 2 ** 31 - 1;

/**
 * A duration setting; `min` and `max` bound it where a value out of them would break the service
 * (a zero timeout answers nothing, a retry of zero is a hot loop, a timer past TIMER_MAX fires at once).
 */
const duration = (
  fallback: string,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        const ms = parseDuration(text);
        if (ms < min || ms > max) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be between ${min}ms and ${max}ms` });
          return z.NEVER;
        }
        return ms;
      } catch (err) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
        return z.NEVER;
      }
    });
/** A wait measured by a Node timer in the process: at least `min`, at most TIMER_MAX. */
const timer = (fallback: string, min = 1) => duration(fallback, { min, max: TIMER_MAX });

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: port(3000),
  // Requests per minute per bearer token, and per client address before any token is looked at.
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(1200),
  RATE_LIMIT_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).default(6000),
  // Proxies in front of the API whose X-Forwarded-For to believe (0: none; the client address is the peer's).
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  IDEMPOTENCY_KEY_TTL: duration('24h'),
  // Loopback by default; 0.0.0.0 in a container.
  API_HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: optionalText.pipe(z.string().url().optional()),
  TEMPORAL_ADDRESS: optionalText,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  // Where the console (/console) links an order's workflow: the Temporal Web UI's address. Unset: no link
  // (the dev stack sets its own UI's).
  TEMPORAL_UI_URL: optionalText.pipe(z.string().url().optional()),
  TEMPORAL_API_KEY: optionalText,
  // Whether the API registers the order search attributes the namespace lacks, at start. Unset: yes on
  // a server you run, no on Temporal Cloud (an API key, or a *.tmprl.cloud address), whose namespaces
  // are changed through its own tools; then a missing one keeps the API unready, naming it.
  TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: z.enum(['true', 'false']).optional(),
  TEMPORAL_TLS_CERT: optionalText,
  TEMPORAL_TLS_KEY: optionalText,
  // Server-authenticated TLS without a client certificate; a private CA and server name if needed.
  TEMPORAL_TLS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  TEMPORAL_TLS_CA: optionalText,
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  TASK_QUEUE: z.string().min(1).default('orders'),
  // How long the API waits for an order's workflow to answer (no worker running, say) before a 503;
  // long enough for a burst of payments on a small machine, short of a gateway's own timeout.
  ORDER_ANSWER_TIMEOUT: timer('30s', 100),
  // No default: the API refuses to start without one; `npm start` makes one for development (devstack/dev-secret.ts).
  AUTH_JWT_SECRET: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  // Rotation: secrets tokens were signed with before AUTH_JWT_SECRET, comma-separated, still accepted
  // (never used to sign) until the tokens they signed have expired; then drop them.
  AUTH_JWT_PREVIOUS_SECRETS: optionalText.pipe(
    z
      .string()
      .transform((v) => v.split(',').map((s) => s.trim()))
      .pipe(z.array(z.string().min(16, 'each must be at least 16 characters')).max(4, 'at most 4'))
      .optional(),
  ),
  // Tokens must expire, and no later than this after they were issued.
  AUTH_TOKEN_MAX_LIFETIME: duration('24h', { min: 1000 }),
  // Checked when set: the token's `iss` and `aud` claims.
  AUTH_JWT_ISSUER: optionalText,
  AUTH_JWT_AUDIENCE: optionalText,
  // Every statement PostgreSQL runs, and every wait for its answer, ends after this (a 503 at the API).
  DATABASE_QUERY_TIMEOUT: timer('10s', 0),
  PAYMENT_TIMEOUT: duration('30m'),
  // How long the payment provider remembers an idempotency key (Stripe: 24 hours; at most 23 here, a
  // margin): a charge's key kept longer (its answer lost) is looked up before it is used again.
  PAYMENT_KEY_MEMORY: duration('12h', { min: 1000, max: 82_800_000 }),
  AUTO_CONFIRM_AFTER: duration('10d'),
  AFTER_SALES_WINDOW: duration('7d'),
  // Virtual goods have their own, shorter after-sales rule.
  VIRTUAL_AFTER_SALES_WINDOW: duration('1d'),
  // A return nobody decides on is escalated to support after this, and closed after as long again; an
  // approved return whose goods never arrive closes after RETURN_SHIP_WINDOW. Neither holds the order.
  RETURN_DECISION_WINDOW: duration('3d'),
  RETURN_SHIP_WINDOW: duration('14d'),
  // The payment provider (services/payment/http-provider.ts); unset: the dev stack starts the sandbox's.
  PAYMENT_PROVIDER_URL: optionalText.pipe(z.string().url().optional()),
  // An unanswered call to the provider is given up after this (and retried, or looked up).
  PAYMENT_PROVIDER_TIMEOUT: timer('5s', 100),
  // The provider's webhooks (POST /v1/inbound/payments) are signed with this; unset: the dev stack makes one
  // for its sandbox, and a deployment without it refuses them all. Signatures older than the tolerance are refused.
  PAYMENT_WEBHOOK_SECRET: optionalText,
  PAYMENT_WEBHOOK_TOLERANCE: duration('5m'),
  // A pending payment (a bank transfer, a 3-D Secure step) holds the payment timeout this much longer,
  // and the provider is asked about it this often, webhooks or not.
  PAYMENT_PENDING_GRACE: duration('10m'),
  PAYMENT_PENDING_POLL: duration('30s', { min: 100 }),
  // Physical goods: `immediate` captures at payment; `on_shipment` authorises at payment, captures at
  // shipment and voids on cancel, re-authorising this long before an authorisation runs out. A capture
  // refused after the goods left flags the order for support and is tried again this often.
  PAYMENT_CAPTURE: z.enum(['immediate', 'on_shipment']).default('immediate'),
  PAYMENT_REAUTH_BEFORE: duration('1d'),
  PAYMENT_CAPTURE_RETRY: duration('1h', { min: 100 }),
  // Orders above these totals (per currency, in minor units: `USD:100000,EUR:90000`), or whose payment the
  // provider scores above normal risk, wait in review for a staff decision before production; an order
  // nobody decided on within REVIEW_TIMEOUT is rejected and refunded. Unset: only risky payments wait.
  REVIEW_ABOVE: optionalText.transform((v, ctx) => {
    if (!v) return undefined;
    try {
      return parseReviewThresholds(v);
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
      return z.NEVER;
    }
  }),
  REVIEW_TIMEOUT: duration('24h'),
  // `manual`: the merchant ships (POST /v1/orders/:id/ship). `warehouse`: production sends a fulfilment
  // request per stock location to the warehouse service (WAREHOUSE_URL; unset: the dev stack starts the
  // sandbox's), whose signed events (POST /v1/inbound/fulfilment, WAREHOUSE_WEBHOOK_SECRET) ship the order.
  FULFILMENT: z.enum(['manual', 'warehouse']).default('manual'),
  WAREHOUSE_URL: optionalText.pipe(z.string().url().optional()),
  WAREHOUSE_TIMEOUT: timer('5s', 100),
  WAREHOUSE_WEBHOOK_SECRET: optionalText,
  // How long an ended order's workflow waits for news of a parcel still with the carrier, and a
  // cancelled order's for a recalled parcel to come back (then support is asked); in each order's policy.
  PARCEL_NEWS_WAIT: duration('30d', { min: 100, max: 365 * 86_400_000 }),
  // Where digital goods' codes come from (issued per order, voided on a full refund); unset: the dev stack's
  // sandbox vendor (in the sandbox warehouse process), or, outside it, codes made by the service itself.
  CODE_VENDOR_URL: optionalText.pipe(z.string().url().optional()),
  // A code the vendor refused (out of codes): the order is flagged for support and asks again this often.
  CODE_VENDOR_RETRY: duration('15m', { min: 100 }),
  // The sandbox warehouse the dev stack starts (sandboxes/warehouse): its port, its own database, how long each step takes.
  WAREHOUSE_SANDBOX_PORT: port(3200),
  WAREHOUSE_SANDBOX_DATABASE_URL: optionalText,
  WAREHOUSE_SANDBOX_STEP: duration('2s'),
  // The sandbox payment service the dev stack starts (sandboxes/payments): its port, its own database
  // (default: a database of its own beside the order service's), a slow or faulty provider, tok_slow's delay.
  PAYMENT_SANDBOX_PORT: port(3100),
  PAYMENT_SANDBOX_DATABASE_URL: optionalText,
  PAYMENT_SANDBOX_LATENCY: duration('0ms'),
  PAYMENT_SANDBOX_ERROR_RATE: z.coerce.number().min(0).max(1).default(0),
  PAYMENT_SANDBOX_SLOW: duration('6s'),
  // How long tok_lost_unlisted's charge stays out of its order's list (Stripe's search lags "within a minute").
  PAYMENT_SANDBOX_UNLISTED: duration('60s'),
  PAYMENT_SANDBOX_ASYNC_DELAY: duration('2s'),
  // How long the sandbox's authorisations hold, and tok_short_auth's (tok_reauth_declined's and tok_reauth_slow's too).
  PAYMENT_SANDBOX_AUTH_TTL: duration('7d'),
  PAYMENT_SANDBOX_SHORT_AUTH: duration('15s'),
  // How long the sandbox remembers a create's idempotency key (Stripe: 24 hours); older, a create is new.
  PAYMENT_SANDBOX_KEY_TTL: duration('24h', { min: 1000, max: 30 * 86_400_000 }),
  // End-to-end payload encryption: `id:base64key` pairs, newest first (codec/encryption-codec.ts). Unset: off.
  PAYLOAD_ENCRYPTION_KEYS: optionalText.superRefine((v, ctx) => {
    if (!v) return;
    try {
      parseKeys(v);
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
    }
  }),
  // Secrets kept to be used again (webhook signing secrets), sealed at rest: `id:base64key` pairs,
  // newest first (codec/secret-box.ts). Unset: the payload keys; neither: stored as given.
  SECRETS_ENCRYPTION_KEYS: optionalText.superRefine((v, ctx) => {
    if (!v) return;
    try {
      parseKeys(v);
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
    }
  }),
  // Browser origins (the Web UI) the codec server answers CORS requests from; a staff token is still required.
  CODEC_ALLOWED_ORIGINS: optionalText,
  // GET /metrics asks for `Authorization: Bearer <METRICS_TOKEN>` when set (a scraper's static credential).
  METRICS_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  // The worker's Prometheus endpoint (the SDK's metrics) on this port; unset: off. Its address:
  // WORKER_METRICS_HOST (0.0.0.0 in a container a scraper reaches), else API_HOST's.
  WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  WORKER_METRICS_HOST: optionalText,
  // Webhooks out (PUT /v1/webhooks/:id): subscriber URLs on loopback or private networks are refused
  // unless allowed (npm start and the tests allow them); each POST's time limit; how long a failing
  // delivery is retried (then marked failed), backing off from WEBHOOK_BACKOFF, doubling, up to the max;
  // how many POSTs the worker has in flight at once.
  WEBHOOK_ALLOW_PRIVATE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  WEBHOOK_TIMEOUT: timer('10s', 100),
  WEBHOOK_RETRY_FOR: duration('24h'),
  WEBHOOK_BACKOFF: timer('1s', 10),
  WEBHOOK_BACKOFF_MAX: timer('1h', 10),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
  // An action PostgreSQL shows that no one heard answered (its workflow may have lost it with a
  // dying worker) is sent again by the worker after this long (worker/unsettled-actions.ts).
  UNSETTLED_ACTION_AFTER: timer('30s', 100),
  // Worker knobs (see README, Running at scale); unset: the SDK's defaults.
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).optional(),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).max(10_000).optional(),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(1_000_000).optional(),
  WORKER_SHUTDOWN_GRACE: timer('10s', 0),
  // A workflow bundle built ahead (npm run build); unset: bundled at worker start.
  WORKFLOW_BUNDLE_PATH: optionalText,
  DEFAULT_INVENTORY_STRATEGY: z.enum(['on_order', 'on_payment']).default('on_order'),
  // Dev stack (npm start, tests, benchmarks): where embedded servers keep their data and listen.
  DATA_DIR: z.string().default('.data'),
  EMBEDDED_PG_PORT: port(54329),
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_CLI_PATH: optionalText,
  // Which Temporal the dev stack runs when TEMPORAL_ADDRESS is unset: the CLI's dev server, or the
  // server itself as separate services on PostgreSQL (`npm run cluster`; devstack/cluster.ts), built
  // once into a cache folder unless TEMPORAL_SERVER_DIR holds temporal-server and temporal-sql-tool.
  TEMPORAL_TOPOLOGY: z.enum(['dev', 'cluster']).default('dev'),
  TEMPORAL_SERVER_DIR: optionalText,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // `json` or `pretty` (readable lines); unset: pretty on a terminal, JSON elsewhere.
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
});

export type Config = Omit<z.infer<typeof schema>, 'DATA_DIR'> & { DATA_DIR: string };

/** Every variable the service reads: deployment files are checked against this list. */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  if (parsed.data.WEBHOOK_BACKOFF_MAX < parsed.data.WEBHOOK_BACKOFF) {
    throw new ConfigError(
      'Invalid configuration:\n  WEBHOOK_BACKOFF_MAX: must not be less than WEBHOOK_BACKOFF',
    );
  }
  return { ...parsed.data, DATA_DIR: path.resolve(parsed.data.DATA_DIR) };
}

/** For entry points: a bad configuration ends the process with the message, not a stack trace. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/** How bearer tokens are checked (api/auth.ts); the API cannot start without a secret. */
export interface AuthSettings {
  secret: string;
  /** Earlier secrets, still accepted, never used to sign (AUTH_JWT_PREVIOUS_SECRETS). */
  previousSecrets?: string[];
  maxLifetimeMs: number;
  issuer?: string;
  audience?: string;
}

/** TEMPORAL_REGISTER_SEARCH_ATTRIBUTES, or its default: yes unless the cluster is Temporal Cloud. */
export function registersSearchAttributes(config: Config): boolean {
  if (config.TEMPORAL_REGISTER_SEARCH_ATTRIBUTES)
    return config.TEMPORAL_REGISTER_SEARCH_ATTRIBUTES === 'true';
  return !config.TEMPORAL_API_KEY && !/\.tmprl\.cloud(:\d+)?$/.test(config.TEMPORAL_ADDRESS ?? '');
}

/**
 * The token settings, for the one process that reads tokens (the API): a worker, the migrations and
 * the sandboxes are given no secret. HS256's key is as strong as its length: in production, every
 * secret (current or earlier) has at least 256 bits of text.
 */
export function authSettings(config: Config): AuthSettings {
  if (!config.AUTH_JWT_SECRET)
    throw new ConfigError(
      config.NODE_ENV === 'production'
        ? 'Invalid configuration:\n  AUTH_JWT_SECRET: must be set in production'
        : 'Invalid configuration:\n  AUTH_JWT_SECRET: must be set (npm start makes one for development on loopback)',
    );
  if (config.NODE_ENV === 'production') {
    const short = (
      [
        ['AUTH_JWT_SECRET', [config.AUTH_JWT_SECRET]],
        ['AUTH_JWT_PREVIOUS_SECRETS', config.AUTH_JWT_PREVIOUS_SECRETS ?? []],
      ] as const
    ).find(([, secrets]) => secrets.some((secret) => secret.length < 32));
    if (short)
      throw new ConfigError(
        `Invalid configuration:\n  ${short[0]}: each token secret must be at least 32 characters in production`,
      );
  }
  return {
    secret: config.AUTH_JWT_SECRET,
    previousSecrets: config.AUTH_JWT_PREVIOUS_SECRETS,
    maxLifetimeMs: config.AUTH_TOKEN_MAX_LIFETIME,
    issuer: config.AUTH_JWT_ISSUER,
    audience: config.AUTH_JWT_AUDIENCE,
  };
}

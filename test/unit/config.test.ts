import { authSettings, loadConfig } from '../../config';
import { parseDuration } from '../../domain/duration';

test('durations are read as the contract writes them', () => {
  expect(parseDuration('500ms')).toBe(500);
  expect(parseDuration('5s')).toBe(5000);
  expect(parseDuration('30m')).toBe(1_800_000);
  expect(parseDuration('10d')).toBe(864_000_000);
  expect(() => parseDuration('5 minutes')).toThrow(/not a duration/);
  expect(() => parseDuration('-5s')).toThrow(/not a duration/);
});

test('defaults follow the configuration table', () => {
  const config = loadConfig({});
  expect(config).toMatchObject({
    PORT: 3000,
    TEMPORAL_NAMESPACE: 'default',
    TASK_QUEUE: 'orders',
    PAYMENT_TIMEOUT: 30 * 60_000,
    AUTO_CONFIRM_AFTER: 10 * 86_400_000,
    AFTER_SALES_WINDOW: 7 * 86_400_000,
  });
  expect(config.DATABASE_URL).toBeUndefined();
  expect(config.TEMPORAL_ADDRESS).toBeUndefined();
});

test('a bad value stops with a message naming the variable', () => {
  expect(() => loadConfig({ PAYMENT_TIMEOUT: '30 minutes' })).toThrow(
    /PAYMENT_TIMEOUT: "30 minutes" is not a duration/,
  );
  expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
  expect(() => loadConfig({ DATABASE_URL: 'not a url' })).toThrow(/DATABASE_URL/);
  expect(() => loadConfig({ AUTH_JWT_SECRET: 'short' })).toThrow(/AUTH_JWT_SECRET: must be at least 16/);
  // Only the API reads tokens: the other processes load without a secret, even in production.
  expect(loadConfig({ NODE_ENV: 'production' }).AUTH_JWT_SECRET).toBeUndefined();
  const api = (env: NodeJS.ProcessEnv) => authSettings(loadConfig(env));
  expect(() => api({ NODE_ENV: 'production' })).toThrow(/AUTH_JWT_SECRET: must be set in production/);
  // In production a token secret, current or earlier, has at least 256 bits of text.
  expect(() => api({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'sixteen-chars-ok' })).toThrow(
    /AUTH_JWT_SECRET: each token secret must be at least 32 characters in production/,
  );
  const long = 'a-production-secret-of-32-chars!';
  expect(api({ NODE_ENV: 'production', AUTH_JWT_SECRET: long }).secret).toBe(long);
  expect(() =>
    api({ NODE_ENV: 'production', AUTH_JWT_SECRET: long, AUTH_JWT_PREVIOUS_SECRETS: 'sixteen-chars-ok' }),
  ).toThrow(/AUTH_JWT_PREVIOUS_SECRETS: each token secret must be at least 32 characters in production/);
  expect(api({ AUTH_JWT_SECRET: 'sixteen-chars-ok' }).secret).toBe('sixteen-chars-ok');
  expect(
    loadConfig({ AUTH_JWT_SECRET: long, AUTH_JWT_PREVIOUS_SECRETS: `${long}1, ${long}2` })
      .AUTH_JWT_PREVIOUS_SECRETS,
  ).toEqual([`${long}1`, `${long}2`]);
  expect(() => loadConfig({ AUTH_JWT_PREVIOUS_SECRETS: 'short' })).toThrow(
    /AUTH_JWT_PREVIOUS_SECRETS.0: each must be at least 16/,
  );
});

test('REVIEW_ABOVE: a currency and an amount in minor units each, read once at start', () => {
  expect(loadConfig({ REVIEW_ABOVE: 'USD:100000, JPY:150000' }).REVIEW_ABOVE).toEqual({
    USD: 100000,
    JPY: 150000,
  });
  expect(loadConfig({}).REVIEW_ABOVE).toBeUndefined();
  expect(loadConfig({}).REVIEW_TIMEOUT).toBe(86_400_000);
  expect(() => loadConfig({ REVIEW_ABOVE: 'USD:12.50' })).toThrow(/REVIEW_ABOVE: each threshold/);
  expect(() => loadConfig({ REVIEW_ABOVE: 'USD:1,USD:2' })).toThrow(/REVIEW_ABOVE: USD is given twice/);
});

test('durations out of their bounds stop the process: a zero timeout or retry, a timer past what Node can wait', () => {
  for (const [name, value] of <[string, string][]>[
    ['WEBHOOK_TIMEOUT', '0ms'],
    ['WEBHOOK_TIMEOUT', '25d'],
    ['ORDER_ANSWER_TIMEOUT', '0s'],
    ['CODE_VENDOR_RETRY', '0s'],
    ['PAYMENT_CAPTURE_RETRY', '0ms'],
    ['AUTH_TOKEN_MAX_LIFETIME', '0s'],
    ['WEBHOOK_BACKOFF', '0ms'],
  ])
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  expect(() => loadConfig({ WEBHOOK_BACKOFF: '10s', WEBHOOK_BACKOFF_MAX: '1s' })).toThrow(
    'WEBHOOK_BACKOFF_MAX',
  );
  // Zero still means off where it is documented so.
  expect(loadConfig({ DATABASE_QUERY_TIMEOUT: '0s' }).DATABASE_QUERY_TIMEOUT).toBe(0);
  expect(loadConfig({ WEBHOOK_TIMEOUT: '24d' }).WEBHOOK_TIMEOUT).toBe(24 * 86_400_000);
});

/** What a server that is not ours is given of this process's environment (devstack/server-env.ts). */
import { serverEnv } from '../../devstack/server-env';

test('the service settings and whatever is named like a credential stay here; the rest, and what is given, go', () => {
  const withheld = {
    AUTH_JWT_SECRET: 's',
    DATABASE_URL: 'postgres://u:p@h/d',
    PAYMENT_SANDBOX_PORT: '1',
    PGPASSWORD: 'p',
    http_proxy: 'http://user:pw@proxy:3128',
    AWS_ACCESS_KEY_ID: 'a',
    GOOGLE_APPLICATION_CREDENTIALS: '/k.json',
    SENTRY_DSN: 'https://k@x/1',
    npm_config__auth: 'x',
    SOME_API_TOKEN: 't',
  };
  const kept = { PATH: '/usr/bin', HOME: '/root', LANG: 'C.UTF-8', PYENV_VERSION: '3.11.7', TZ: 'UTC' };
  const saved = { ...process.env };
  Object.assign(process.env, withheld, kept);
  try {
    const env = serverEnv({ TEMPORAL_DB_PASSWORD: 'given' });
    for (const name of Object.keys(withheld)) expect(env[name]).toBeUndefined();
    for (const [name, value] of Object.entries(kept)) expect(env[name]).toBe(value);
    expect(env.TEMPORAL_DB_PASSWORD).toBe('given');
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
});

/**
 * The environment of a server that is not ours (PostgreSQL, the Temporal dev server, the cluster's
 * services, the schema tool): this process's, without the service's settings or anything named
 * like a secret. Those carry the token secret, payload keys and database URLs with their passwords,
 * which these servers have no use for; a process's environment is readable by its user
 * (/proc/<pid>/environ) and ends up in crash reports. The rest stays: the tools may need it (PATH,
 * HOME, the locale, pyenv's settings for the Temporal CLI's shim).
 */
import { CONFIG_VARIABLES } from '../config';

const SETTINGS = new Set(CONFIG_VARIABLES);
// The sandboxes' own settings, and whatever is named like a credential or may carry one
// (PGPASSWORD, an API token, a cloud access key, a DSN or a proxy URL with its user and password).
const WITHHELD =
  /^(PAYMENT_SANDBOX_|WAREHOUSE_SANDBOX_|PG)|SECRET|PASS(WORD|WD)?$|PASSWORD|TOKEN|CREDENTIAL|ACCESS_KEY|(^|_)KEYS?$|_AUTH$|_URL$|_DSN$|PROXY/i;

export function serverEnv(given: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !SETTINGS.has(name) && !WITHHELD.test(name)) env[name] = value;
  return { ...env, ...given };
}

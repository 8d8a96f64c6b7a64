/**
 * Secrets the service must use again (a webhook subscription's signing secret) are kept sealed in
 * PostgreSQL: AES-256-GCM under the newest of SECRETS_ENCRYPTION_KEYS (or, unset, the payload
 * keys), the key's id stored beside the ciphertext so keys rotate. A value stored before sealing
 * (no prefix) is read as it is; with no keys configured, values are stored as given.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { parseKeys } from './encryption-codec';

const PREFIX = 'enc:v1:';

/**
 * Whether a secret given in plain text would read as a sealed one (any version of the form): such a
 * secret is refused where it is given, since stored as given (no keys configured, or before they
 * were) it could never be opened to sign with.
 */
export const looksSealed = (secret: string) => secret.startsWith('enc:');

/** Seals and opens secrets (the shape services/webhooks/subscriptions.ts asks for as `SecretBox`). */
export function secretBox(keysText: string | undefined) {
  const keys = keysText ? parseKeys(keysText) : [];
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  return {
    seal(plain: string): string {
      const newest = keys[0];
      if (!newest) return plain;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', newest.key, iv);
      const sealed = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${PREFIX}${newest.id}:${sealed.toString('base64')}`;
    },
    open(stored: string): string {
      if (!stored.startsWith(PREFIX)) return stored;
      const rest = stored.slice(PREFIX.length);
      const at = rest.indexOf(':');
      const key = byId.get(rest.slice(0, at));
      // Named by id only: the ciphertext and the key never go into a message.
      if (at <= 0 || !key) throw new Error('a stored secret is sealed with a key this process does not have');
      const data = Buffer.from(rest.slice(at + 1), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}

/** The keys secrets are sealed with: their own, or the payload keys. */
export const secretKeysOf = (config: {
  SECRETS_ENCRYPTION_KEYS?: string;
  PAYLOAD_ENCRYPTION_KEYS?: string;
}) => config.SECRETS_ENCRYPTION_KEYS ?? config.PAYLOAD_ENCRYPTION_KEYS;

/**
 * Digests of text that may hold a secret (a request body stored as an Idempotency-Key's hash): an
 * HMAC under a key derived from each of the secret keys, so that PostgreSQL, a replica or a backup
 * holds nothing a weak secret could be guessed back from, as it holds the secret itself sealed.
 * `stored` is the newest key's; `accepted` also holds the older keys' and the bare SHA-256 that
 * rows written before the keys (or with none configured, as the secrets then are) carry.
 */
export function keyedDigest(keysText: string | undefined) {
  const keys = (keysText ? parseKeys(keysText) : []).map((k) =>
    Buffer.from(hkdfSync('sha256', k.key, Buffer.alloc(0), 'order-service request digest', 32)),
  );
  const under = (key: Buffer | undefined, text: string) =>
    (key ? createHmac('sha256', key) : createHash('sha256')).update(text).digest('hex');
  return {
    stored: (text: string) => under(keys[0], text),
    accepted: (text: string) => [...keys.map((key) => under(key, text)), under(undefined, text)],
  };
}

export type KeyedDigest = ReturnType<typeof keyedDigest>;

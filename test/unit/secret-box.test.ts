/** Webhook secrets at rest: sealed under the newest key, opened with the key they name, rotated. */
import { createHash } from 'node:crypto';
import { keyedDigest, secretBox, secretKeysOf } from '../../codec/secret-box';

const key = (id: string, fill: number) => `${id}:${Buffer.alloc(32, fill).toString('base64')}`;

test('sealed values open again; each sealing differs; the plain secret is nowhere in what is stored', () => {
  const box = secretBox(key('k1', 1));
  const secret = 'whsec_0123456789abcdef';
  const [a, b] = [box.seal(secret), box.seal(secret)];
  expect(a).toMatch(/^enc:v1:k1:/);
  expect(a).not.toBe(b);
  expect(a).not.toContain(secret);
  expect(box.open(a)).toBe(secret);
  expect(box.open(b)).toBe(secret);
});

test('keys rotate: a newer key seals, the older still opens what it sealed; an unknown key is named, never quoted', () => {
  const old = secretBox(key('k1', 1));
  const sealed = old.seal('s3cret-value-16ch');
  const rotated = secretBox(`${key('k2', 2)},${key('k1', 1)}`);
  expect(rotated.open(sealed)).toBe('s3cret-value-16ch');
  expect(rotated.seal('x')).toMatch(/^enc:v1:k2:/);
  const without = secretBox(key('k2', 2));
  expect(() => without.open(sealed)).toThrow(
    'a stored secret is sealed with a key this process does not have',
  );
  // Tampered ciphertext is refused, not opened as something else.
  const tampered = sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  expect(() => old.open(tampered)).toThrow();
});

test('without keys, values are stored as given; values stored before sealing read as they are', () => {
  expect(secretBox(undefined).seal('plain-secret-16chars')).toBe('plain-secret-16chars');
  expect(secretBox(key('k1', 1)).open('legacy-plain-secret')).toBe('legacy-plain-secret');
  expect(secretKeysOf({ PAYLOAD_ENCRYPTION_KEYS: 'p' })).toBe('p');
  expect(secretKeysOf({ SECRETS_ENCRYPTION_KEYS: 's', PAYLOAD_ENCRYPTION_KEYS: 'p' })).toBe('s');
});

test('keyed digests: the newest key’s is stored, every key’s and the bare SHA-256 are known; without keys, the bare one', () => {
  const bare = (text: string) => createHash('sha256').update(text).digest('hex');
  const old = keyedDigest(key('k1', 1));
  const rotated = keyedDigest(`${key('k2', 2)},${key('k1', 1)}`);
  const text = 'PUT\n/v1/webhooks/wh-1\n{"secret":"whsec_short"}';
  expect(old.stored(text)).not.toBe(bare(text));
  expect(rotated.stored(text)).not.toBe(old.stored(text));
  expect(rotated.stored(text)).toBe(keyedDigest(key('k2', 2)).stored(text)); // deterministic, by the newest key
  expect(rotated.accepted(text)).toEqual([rotated.stored(text), old.stored(text), bare(text)]);
  expect(rotated.accepted(`${text} `)).not.toContain(rotated.stored(text));
  expect(keyedDigest(undefined).stored(text)).toBe(bare(text));
  expect(keyedDigest(undefined).accepted(text)).toEqual([bare(text)]);
});

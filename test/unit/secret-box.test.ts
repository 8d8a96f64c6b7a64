/** Webhook secrets at rest: sealed under the newest key, opened with the key they name, rotated. */
import { secretBox, secretKeysOf } from '../../codec/secret-box';

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

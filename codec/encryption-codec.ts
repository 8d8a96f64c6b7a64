/**
 * End-to-end encryption of Temporal payloads (AES-256-GCM). Every payload the client or the
 * worker sends is encrypted before it leaves the process, so the cluster (and its operator)
 * stores only ciphertext: names, addresses, payment references. The key id travels in the
 * payload's metadata; new payloads use the newest key, old ones decode with whichever key they
 * name, so keys rotate without breaking orders in flight.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** `PAYLOAD_ENCRYPTION_KEYS`: `id:base64key` pairs, comma-separated, newest first; each key 32 bytes. */
export function parseKeys(text: string): EncryptionKey[] {
  const keys = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf(':');
      if (at <= 0) throw new Error('each key is id:base64 (32 bytes)');
      const key = Buffer.from(pair.slice(at + 1), 'base64');
      if (key.length !== 32)
        throw new Error(`key ${pair.slice(0, at)} is ${key.length} bytes; AES-256 needs 32`);
      return { id: pair.slice(0, at), key };
    });
  if (keys.length === 0) throw new Error('no keys');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('key ids must be unique');
  return keys;
}

export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: EncryptionKey[]) {
    if (keys.length === 0) throw new Error('EncryptionCodec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0]!;
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: encoder.encode(ENCODING), [KEY_ID]: encoder.encode(id) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (!payload.metadata || decoder.decode(payload.metadata.encoding) !== ENCODING) return payload;
      const id = decoder.decode(payload.metadata[KEY_ID]);
      const key = this.byId.get(id);
      if (!key) throw new Error(`payload encrypted with unknown key ${id}`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

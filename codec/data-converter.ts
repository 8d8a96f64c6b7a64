/** The data converter of the client, the worker and the replay tests: encrypted whenever a key is configured. */
import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec, parseKeys } from './encryption-codec';

/** Failures with encodable strings only (./failure-converter.ts); by path, as the workflow bundle needs. */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** The encryption keys as configured (config/ checks their format): `id:base64key` pairs, newest first. */
interface CodecSettings {
  PAYLOAD_ENCRYPTION_KEYS?: string;
}

export function codecFor(config: CodecSettings): EncryptionCodec | undefined {
  return config.PAYLOAD_ENCRYPTION_KEYS
    ? new EncryptionCodec(parseKeys(config.PAYLOAD_ENCRYPTION_KEYS))
    : undefined;
}

export function dataConverterFor(config: CodecSettings): DataConverter {
  const codec = codecFor(config);
  return { failureConverterPath: FAILURE_CONVERTER_PATH, ...(codec ? { payloadCodecs: [codec] } : {}) };
}

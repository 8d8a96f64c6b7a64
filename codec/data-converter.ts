/** The data converter of the client, the worker and the replay tests: encrypted whenever a key is configured. */
import type { DataConverter } from '@temporalio/common';
import type { Config } from '../config';
import { EncryptionCodec, parseKeys } from './encryption-codec';

/** Failures with encodable strings only (./failure-converter.ts); by path, as the workflow bundle needs. */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

export function codecFor(config: Pick<Config, 'PAYLOAD_ENCRYPTION_KEYS'>): EncryptionCodec | undefined {
  return config.PAYLOAD_ENCRYPTION_KEYS
    ? new EncryptionCodec(parseKeys(config.PAYLOAD_ENCRYPTION_KEYS))
    : undefined;
}

export function dataConverterFor(config: Pick<Config, 'PAYLOAD_ENCRYPTION_KEYS'>): DataConverter {
  const codec = codecFor(config);
  return { failureConverterPath: FAILURE_CONVERTER_PATH, ...(codec ? { payloadCodecs: [codec] } : {}) };
}

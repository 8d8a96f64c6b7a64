/** Temporal connection options from the configuration: plain, TLS/mTLS, or an API key (Temporal Cloud). */
import { readFileSync } from 'node:fs';
import type { Config } from './index';

export interface TemporalConnectionOptions {
  address: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer } } | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export function temporalConnectionOptions(
  config: Config,
  address = config.TEMPORAL_ADDRESS,
): TemporalConnectionOptions {
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set (npm start sets it for the dev server)');
  const options: TemporalConnectionOptions = { address };
  if (config.TEMPORAL_TLS_CERT || config.TEMPORAL_TLS_KEY) {
    if (!config.TEMPORAL_TLS_CERT || !config.TEMPORAL_TLS_KEY) {
      throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
    }
    options.tls = {
      clientCertPair: {
        crt: readFileSync(config.TEMPORAL_TLS_CERT),
        key: readFileSync(config.TEMPORAL_TLS_KEY),
      },
    };
  }
  if (config.TEMPORAL_API_KEY) {
    options.apiKey = config.TEMPORAL_API_KEY;
    options.tls ??= true; // API keys are only sent over TLS
  }
  return options;
}

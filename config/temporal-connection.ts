/**
 * Temporal connection options from the configuration, following the conventions of
 * `@temporalio/envconfig` where they fit: plain, server TLS (optionally a private CA and server
 * name), mTLS (client certificate and key files) or an API key (Temporal Cloud, which implies TLS).
 */
import { readFileSync } from 'node:fs';
import type { Config } from './index';

export interface TemporalConnectionOptions {
  address: string;
  tls?:
    | {
        clientCertPair?: { crt: Buffer; key: Buffer };
        serverRootCACertificate?: Buffer;
        serverNameOverride?: string;
      }
    | boolean;
  apiKey?: string;
}

export function temporalConnectionOptions(
  config: Config,
  address = config.TEMPORAL_ADDRESS,
): TemporalConnectionOptions {
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set (npm start sets it for the dev server)');
  const options: TemporalConnectionOptions = { address };
  if (Boolean(config.TEMPORAL_TLS_CERT) !== Boolean(config.TEMPORAL_TLS_KEY)) {
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
  }
  const wantsTls =
    config.TEMPORAL_TLS || config.TEMPORAL_TLS_CERT || config.TEMPORAL_TLS_CA || config.TEMPORAL_API_KEY;
  if (wantsTls) {
    const tls: Exclude<TemporalConnectionOptions['tls'], boolean | undefined> = {};
    if (config.TEMPORAL_TLS_CERT && config.TEMPORAL_TLS_KEY) {
      tls.clientCertPair = {
        crt: readFileSync(config.TEMPORAL_TLS_CERT),
        key: readFileSync(config.TEMPORAL_TLS_KEY),
      };
    }
    if (config.TEMPORAL_TLS_CA) tls.serverRootCACertificate = readFileSync(config.TEMPORAL_TLS_CA);
    if (config.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = config.TEMPORAL_TLS_SERVER_NAME;
    options.tls = Object.keys(tls).length > 0 ? tls : true;
  }
  // API keys are only ever sent over TLS (set above).
  if (config.TEMPORAL_API_KEY) options.apiKey = config.TEMPORAL_API_KEY;
  return options;
}

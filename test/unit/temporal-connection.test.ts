/** Issue 10: Temporal connection options from the environment: plain, TLS, mTLS and API key. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config';
import { temporalConnectionOptions } from '../../config/temporal-connection';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tls-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const options = (env: Record<string, string>) =>
  temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'temporal.example:7233', ...env }));

test('plain: just the address', () => {
  expect(options({})).toEqual({ address: 'temporal.example:7233' });
});

test('server TLS, with a private CA and server name when given', () => {
  expect(options({ TEMPORAL_TLS: 'true' })).toEqual({ address: 'temporal.example:7233', tls: true });
  const ca = file('ca.pem', 'CA');
  expect(options({ TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: 'frontend' }).tls).toEqual({
    serverRootCACertificate: Buffer.from('CA'),
    serverNameOverride: 'frontend',
  });
});

test('mTLS: the client certificate and key files', () => {
  const crt = file('client.crt', 'CERT');
  const key = file('client.key', 'KEY');
  expect(options({ TEMPORAL_TLS_CERT: crt, TEMPORAL_TLS_KEY: key }).tls).toEqual({
    clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
  });
  expect(() => options({ TEMPORAL_TLS_CERT: crt })).toThrow(
    /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together/,
  );
});

test('API key (Temporal Cloud): sent over TLS only', () => {
  expect(options({ TEMPORAL_API_KEY: 'k-123' })).toEqual({
    address: 'temporal.example:7233',
    tls: true,
    apiKey: 'k-123',
  });
});

test('no address: a clear message', () => {
  expect(() => temporalConnectionOptions(loadConfig({}))).toThrow(/TEMPORAL_ADDRESS is not set/);
});

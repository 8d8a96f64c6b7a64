/** API process entry: `node --import tsx api/main.ts` (npm start runs it for you). */
import { createServer } from 'node:http';
import { Client, Connection, makeGrpcRetryInterceptor } from '@temporalio/client';
import { dataConverterFor } from '../codec/data-converter';
import { authSettings, ConfigError, loadConfigOrExit, registersSearchAttributes } from '../config';
import { temporalConnectionOptions } from '../config/temporal-connection';
import { createDb } from '../db/knex';
import { createApp } from './app';
import { createLogger } from './logging';
import { STATUSES } from './problem';
import { SearchAttributeGuard, SearchAttributesMissing } from './search-attributes';
import { apiGrpcRetryOptions } from './temporal-retry';

async function main() {
  const config = loadConfigOrExit();
  try {
    authSettings(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
  if (!config.DATABASE_URL)
    throw new Error('DATABASE_URL is not set (npm start sets it for the embedded server)');
  const db = createDb(config.DATABASE_URL, { queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT });
  // Lazy: the API starts and answers 503 while Temporal is away, and recovers without a restart.
  const connection = Connection.lazy({
    ...temporalConnectionOptions(config),
    interceptors: [makeGrpcRetryInterceptor(apiGrpcRetryOptions())],
  });
  const temporal = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterFor(config),
  });
  const logger = createLogger(config.LOG_LEVEL, config.LOG_FORMAT);
  // The namespace's search attributes, checked (and registered when allowed) at start.
  const searchAttributes = new SearchAttributeGuard(
    connection,
    config.TEMPORAL_NAMESPACE,
    registersSearchAttributes(config),
  );
  searchAttributes
    .check()
    .then((missing) => {
      if (missing.length) logger.warn(new SearchAttributesMissing(missing).message);
    })
    .catch(() => logger.warn('Temporal did not answer at start: search attributes are checked at readiness'));
  const app = createApp({ config, db, temporal, logger, searchAttributes });
  // Stopping: no new connections; requests under way get their answers (an order's may take
  // ORDER_ANSWER_TIMEOUT), each on a connection closed after it, and readiness says so.
  let draining = false;
  const server = createServer((req, res) => {
    if (!draining) return app(req, res);
    res.setHeader('Connection', 'close');
    if (req.url !== '/readyz') return app(req, res);
    res.writeHead(503, { 'content-type': 'application/problem+json; charset=utf-8', 'retry-after': '5' });
    res.end(
      JSON.stringify({
        type: 'about:blank#503',
        title: STATUSES[503]!.title,
        status: 503,
        detail: 'not ready: this API is stopping',
      }),
    );
  }).listen(config.PORT, config.API_HOST, () => {
    logger.info({ host: config.API_HOST, port: config.PORT, pid: process.pid }, 'api listening');
  });

  const stop = () => {
    if (draining) return;
    draining = true;
    server.close(async () => {
      await connection.close();
      await db.destroy();
      process.exit(0);
    });
    // A connection kept alive past its last answer would hold the close: swept as each goes idle.
    server.closeIdleConnections();
    setInterval(() => server.closeIdleConnections(), 250).unref();
    // Past every answer's own limit: what is still open is cut, and the exit says so.
    setTimeout(() => {
      logger.warn('requests still open at the end of the stop: cut');
      process.exit(1);
    }, config.ORDER_ANSWER_TIMEOUT + 5000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

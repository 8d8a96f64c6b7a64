/**
 * Issue 18: the routes Express serves and the routes the OpenAPI document lists are the same set.
 * Mounted routes are read from a real app's router (not from the declarations the document is
 * made of); documented ones are asked for on the running API without a token.
 */
import type { Express } from 'express';
import { createApp } from '../../api/app';
import { openApiDocument } from '../../api/openapi';
import { loadConfig } from '../../config';
import type { Db } from '../../db/knex';
import { apiUrl } from '../support/api';
import { testDb, testTemporal } from '../support/backends';

/** Served but not part of the API contract: the document itself, its page, metrics, the console, the Web UI's codec. */
const INFRASTRUCTURE = /^(GET \/(openapi\.json|docs|metrics|console)|\w+ \/codec\b)/;

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  name: string;
  regexp: RegExp;
  handle: { stack?: Layer[] };
}

/** Express 4 keeps a mounted router's path only as a regexp (`^\/v1\/?(?=\/|$)`): read it back. */
const mountPath = (layer: Layer): string =>
  layer.regexp.source
    .replace(/^\^/, '')
    .replace(/\\\/\?\(\?=\\\/\|\$\)$/, '')
    .replace(/\\\//g, '/');

function mounted(stack: Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const path = `${prefix}${layer.route.path === '/' ? '' : layer.route.path}` || '/';
      return Object.keys(layer.route.methods)
        .filter((m) => m !== '_all')
        .map((m) => `${m.toUpperCase()} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
    if (layer.name === 'router' && layer.handle.stack)
      return mounted(layer.handle.stack, prefix + mountPath(layer));
    return [];
  });
}

const documented = (): string[] =>
  Object.entries((openApiDocument() as { paths: Record<string, object> }).paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
  );

describe('route table', () => {
  let db: Db;
  let temporal: Awaited<ReturnType<typeof testTemporal>>;
  let app: Express;

  beforeAll(async () => {
    db = testDb();
    temporal = await testTemporal();
    app = createApp({ config: loadConfig(process.env), db, temporal: temporal.client }) as Express;
  });
  afterAll(async () => {
    await db.destroy();
    await temporal.close();
  });

  it('mounts every documented route and documents every mounted one', () => {
    const served = mounted((app as unknown as { _router: { stack: Layer[] } })._router.stack).filter(
      (r) => !INFRASTRUCTURE.test(r),
    );
    expect(served.length).toBeGreaterThan(20);
    expect([...new Set(served)].sort()).toEqual(documented().sort());
  });

  it('answers every documented route on the running API (no route is a 404 or a 405)', async () => {
    for (const route of documented()) {
      const [method, path] = route.split(' ') as [string, string];
      const url = `${apiUrl()}${path.replace(/\{\w+\}/g, 'x1')}`;
      const res = await fetch(url, { method, headers: { 'content-type': 'application/json' } });
      const body: any = res.headers.get('content-type')?.includes('json') ? await res.json() : {};
      // Without a token a secured route is a 401; an open one answers for itself.
      expect({ route, status: res.status, detail: body.detail }).not.toMatchObject({ status: 405 });
      expect(String(body.detail ?? '')).not.toMatch(/^route /);
    }
  });
});

/**
 * The console for merchants and support (/console): three static files, no build step. It calls
 * the public API with the caller's own token, so it can show and do nothing that role could not
 * already; scripts come from this origin only (helmet's CSP), never inline.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';

// Beside api/ when run from the sources, two levels up when run from dist/api (the image copies it).
const DIR = [path.resolve(__dirname, '..', 'console'), path.resolve(__dirname, '..', '..', 'console')].find(
  (dir) => existsSync(path.join(dir, 'index.html')),
)!;

const attribute = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/**
 * Stricter than helmet's default: nothing but this origin, no inline script or style, and no
 * upgrade of requests to https (a console on http://localhost would lose its own script).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

export function consoleRouter(settings: { temporalUiUrl?: string; namespace: string }): Router {
  const page = readFileSync(path.join(DIR, 'index.html'), 'utf8')
    .replace('{{TEMPORAL_UI_URL}}', attribute(settings.temporalUiUrl?.replace(/\/+$/, '') ?? ''))
    .replace('{{NAMESPACE}}', attribute(settings.namespace));
  const files: Record<string, [string, string]> = {
    'app.js': ['text/javascript; charset=utf-8', readFileSync(path.join(DIR, 'app.js'), 'utf8')],
    'app.css': ['text/css; charset=utf-8', readFileSync(path.join(DIR, 'app.css'), 'utf8')],
  };
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('content-security-policy', CSP);
    next();
  });
  router.get('/', (_req, res) => {
    res.setHeader('cache-control', 'no-cache');
    res.type('html').send(page);
  });
  router.get('/:file', (req, res, next) => {
    const file = files[req.params.file];
    if (!file) return next();
    res.setHeader('cache-control', 'no-cache');
    res.type(file[0]).send(file[1]);
  });
  return router;
}

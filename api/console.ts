/**
 * The console for merchants and support (/console): three static files, no build step. It calls
 * the public API with the caller's own token, so it can show and do nothing that role could not
 * already; scripts come from this origin only, never inline (./static-pages.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Router } from 'express';
import { staticPages } from './static-pages';

// Beside api/ when run from the sources, two levels up when run from dist/api (the image copies it).
const DIR = [path.resolve(__dirname, '..', 'console'), path.resolve(__dirname, '..', '..', 'console')].find(
  (dir) => existsSync(path.join(dir, 'index.html')),
)!;

const attribute = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export function consoleRouter(settings: { temporalUiUrl?: string; namespace: string }): Router {
  const page = readFileSync(path.join(DIR, 'index.html'), 'utf8')
    // Functions, not strings: a `$'` or `$&` in a setting is text, not a replacement pattern.
    .replace('{{TEMPORAL_UI_URL}}', () => attribute(settings.temporalUiUrl?.replace(/\/+$/, '') ?? ''))
    .replace('{{NAMESPACE}}', () => attribute(settings.namespace));
  return staticPages({
    page,
    files: {
      'app.js': {
        type: 'text/javascript; charset=utf-8',
        body: readFileSync(path.join(DIR, 'app.js'), 'utf8'),
      },
      'app.css': { type: 'text/css; charset=utf-8', body: readFileSync(path.join(DIR, 'app.css'), 'utf8') },
    },
  });
}

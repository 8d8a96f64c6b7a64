/**
 * The API reference at /docs: the OpenAPI document (/openapi.json) in Swagger UI, served from the
 * swagger-ui-dist package, offline. Chosen over Redoc (no way to try a call) and Scalar (fonts and
 * more from a CDN by default, more exceptions to the CSP): one prebuilt bundle, no build step, and
 * "Try it out" with an Authorize dialog for a pasted bearer token, kept in the page only. Its
 * start-up script is a file of this origin: the CSP allows no inline script, and no call out
 * (the spec validator is off).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Router } from 'express';
import { staticPages } from './static-pages';

const DIST = path.dirname(require.resolve('swagger-ui-dist/package.json'));

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Order service API</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
    <script src="/docs/swagger-ui-bundle.js" defer></script>
    <script src="/docs/init.js" defer></script>
  </head>
  <body>
    <div id="swagger-ui"><noscript>The reference needs JavaScript; the document itself is at /openapi.json.</noscript></div>
  </body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  filter: true,
  displayRequestDuration: true,
  persistAuthorization: false,
  validatorUrl: null,
});
`;

export function docsRouter(): Router {
  const js = 'text/javascript; charset=utf-8';
  return staticPages({
    page: PAGE,
    // Swagger UI sets style attributes as it renders: styles may be inline, scripts never.
    inlineStyles: true,
    files: {
      // The bundle changes only with the package: a day in the browser's cache.
      'swagger-ui.css': {
        type: 'text/css; charset=utf-8',
        body: readFileSync(path.join(DIST, 'swagger-ui.css')),
        maxAge: 86_400,
      },
      'swagger-ui-bundle.js': {
        type: js,
        body: readFileSync(path.join(DIST, 'swagger-ui-bundle.js')),
        maxAge: 86_400,
      },
      'init.js': { type: js, body: INIT },
    },
  });
}

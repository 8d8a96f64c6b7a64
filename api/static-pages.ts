/**
 * The pages the API serves beside its routes (the console, the API reference): a page and the
 * files it loads, under a CSP of their own that allows this origin only, no inline script, and no
 * upgrade of requests to https (a page on http://localhost would lose its own script).
 */
import express, { type Router } from 'express';

export interface StaticFile {
  type: string;
  body: string | Buffer;
  /** Seconds a browser may keep it; none: asked again every time. */
  maxAge?: number;
}

export function staticPages(options: {
  page: string;
  files: Record<string, StaticFile>;
  /** Inline style attributes (Swagger UI sets some as it renders); scripts stay this origin's. */
  inlineStyles?: boolean;
}): Router {
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self'${options.inlineStyles ? " 'unsafe-inline'" : ''}`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('content-security-policy', csp);
    next();
  });
  router.get('/', (_req, res) => {
    res.setHeader('cache-control', 'no-cache');
    res.type('html').send(options.page);
  });
  router.get('/:file', (req, res, next) => {
    // Own names only: `constructor` or `__proto__` is no file.
    const file = Object.hasOwn(options.files, req.params.file) ? options.files[req.params.file] : undefined;
    if (!file) return next();
    res.setHeader('cache-control', file.maxAge ? `public, max-age=${file.maxAge}` : 'no-cache');
    res.type(file.type).send(file.body);
  });
  return router;
}

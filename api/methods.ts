/**
 * Methods per resource, from the route declarations the OpenAPI document is made of (api/routes):
 * OPTIONS answers with exactly the documented methods in `Allow`, and a method a resource does
 * not have is a 405 with that `Allow`, not a 404 (or a 401 before it: the document is public).
 */
import type { RequestHandler } from 'express';
import { ROUTES as routes } from './routes';
import { sendProblem } from './problem';

const resources = (() => {
  const byPath = new Map<string, Set<string>>();
  for (const r of routes) {
    const methods = byPath.get(r.path) ?? new Set<string>();
    methods.add(r.method.toUpperCase());
    byPath.set(r.path, methods);
  }
  return [...byPath].map(([path, methods]) => ({
    // `{id}` matches one path segment, as Express's `:id` does.
    pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
    allow: [...methods, ...(methods.has('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', '),
    methods,
  }));
})();

export function methodsOfResources(): RequestHandler {
  return (req, res, next) => {
    const resource = resources.find((r) => r.pattern.test(req.path));
    if (!resource) return next();
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', resource.allow);
      return void res.status(204).end();
    }
    if (resource.methods.has(method)) return next();
    res.setHeader('Allow', resource.allow);
    sendProblem(res, { status: 405, title: 'Method not allowed', detail: `allowed: ${resource.allow}` });
  };
}

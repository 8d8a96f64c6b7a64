/** A readable reference page, rendered from the OpenAPI document: no external assets. */
import { openApiDocument } from './openapi';

export function docsPage(): string {
  const doc = openApiDocument() as {
    paths: Record<
      string,
      Record<
        string,
        {
          summary?: string;
          description?: string;
          requestBody?: unknown;
          responses: Record<string, { description: string }>;
        }
      >
    >;
  };
  const esc = (s: string) =>
    s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const rows = Object.entries(doc.paths).flatMap(([p, methods]) =>
    Object.entries(methods).map(
      ([
        m,
        op,
      ]) => `<section><h3><code>${m.toUpperCase()} ${esc(p)}</code></h3><p>${esc(op.summary ?? '')} <em>${esc(op.description ?? '')}</em></p>
<p>Responses: ${Object.entries(op.responses)
        .map(([s, r]) => `<code>${s}</code> ${esc(r.description)}`)
        .join(' · ')}</p>
${op.requestBody ? `<details><summary>Request body</summary><pre>${esc(JSON.stringify(op.requestBody, null, 2))}</pre></details>` : ''}</section>`,
    ),
  );
  return `<!doctype html><html><head><meta charset="utf-8"><title>Order service API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}code{background:#f3f3f3;padding:0 .2em}section{border-top:1px solid #ddd;padding:.5em 0}pre{background:#f7f7f7;padding:.5em;overflow:auto}</style>
</head><body><h1>Order service API</h1><p>The machine-readable document is at <a href="/openapi.json">/openapi.json</a>. Errors are <code>application/problem+json</code>. Authenticate with <code>Authorization: Bearer &lt;JWT&gt;</code>.</p>
${rows.join('\n')}</body></html>`;
}

/**
 * The layers of the tree and what each may import: the one table the ESLint rule below enforces
 * and README's architecture section shows (test/unit/layering.test.ts holds them together).
 * A layer is a top-level folder; an import's layer is the folder its resolved path lands in.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS, so ESLint's config and jest both load it
const path = require('node:path');

/** What the tools (scripts/, bench/) may reach: every layer that runs, never the tests. */
const TOOLS = [
  'domain',
  'workflows',
  'activities',
  'services',
  'audit',
  'api',
  'worker',
  'config',
  'db',
  'codec',
  'devstack',
];

/** folder → { layers it may import, layers it may import types from, packages it may import (all when absent) }. */
const LAYERS = {
  domain: { may: ['domain'], packages: [] },
  workflows: {
    may: ['domain', 'workflows'],
    types: ['activities'],
    packages: ['@temporalio/workflow', '@temporalio/common'],
  },
  activities: { may: ['activities', 'domain', 'services', 'db'] },
  services: { may: ['services', 'domain', 'db'] },
  audit: { may: ['audit', 'domain', 'services', 'workflows'] },
  api: { may: ['api', 'domain', 'services', 'workflows', 'config', 'db', 'codec'] },
  worker: { may: ['worker', 'domain', 'workflows', 'activities', 'services', 'config', 'db', 'codec'] },
  config: { may: ['config', 'domain', 'codec'] },
  codec: { may: ['codec', 'domain'] },
  db: { may: ['db', 'domain', 'migrations'] },
  migrations: { may: ['migrations'] },
  // Systems of their own (the sandbox payment service): they share only the webhook signature with the order service.
  sandboxes: { may: ['sandboxes', 'codec'] },
  devstack: { may: ['devstack', 'domain', 'workflows', 'api', 'worker', 'config', 'db', 'codec'] },
  scripts: { may: ['scripts', 'migrations', ...TOOLS] },
  bench: { may: ['bench', 'scripts', ...TOOLS] },
};

const packageName = (source) =>
  source.startsWith('@') ? source.split('/').slice(0, 2).join('/') : source.split('/')[0];

/** The rule: `layers/imports`. Files outside a listed layer (test/, the root's configs) are not checked. */
const layersPlugin = {
  rules: {
    imports: {
      meta: {
        type: 'problem',
        schema: [],
        messages: {
          layer: '{{from}}/ may not import {{to}}/ (lint/layers.cjs; README, Architecture)',
          typeOnly: '{{from}}/ may import only types from {{to}}/ (lint/layers.cjs)',
          package: '{{from}}/ may not import the package {{name}} (lint/layers.cjs)',
        },
      },
      create(context) {
        const root = context.cwd;
        const file = path.relative(root, context.filename);
        const from = file.split(path.sep)[0];
        const layer = LAYERS[from];
        if (!layer || file.startsWith('..')) return {};
        const check = (node, source, typeOnly) => {
          if (typeof source !== 'string') return;
          if (!source.startsWith('.')) {
            const name = packageName(source);
            if (layer.packages && !layer.packages.includes(name))
              context.report({ node, messageId: 'package', data: { from, name } });
            return;
          }
          const target = path.relative(root, path.resolve(path.dirname(context.filename), source));
          const to = target.split(path.sep)[0];
          if (layer.may.includes(to)) return;
          if (layer.types?.includes(to)) {
            if (!typeOnly) context.report({ node, messageId: 'typeOnly', data: { from, to } });
            return;
          }
          context.report({ node, messageId: 'layer', data: { from, to: to || '.' } });
        };
        const isTypeOnly = (node) =>
          node.importKind === 'type' ||
          node.exportKind === 'type' ||
          (node.specifiers?.length > 0 && node.specifiers.every((s) => s.importKind === 'type'));
        return {
          ImportDeclaration: (node) => check(node, node.source.value, isTypeOnly(node)),
          ExportNamedDeclaration: (node) => node.source && check(node, node.source.value, isTypeOnly(node)),
          ExportAllDeclaration: (node) => check(node, node.source.value, node.exportKind === 'type'),
          ImportExpression: (node) => check(node, node.source.value, false),
          CallExpression: (node) => {
            // require('…') and require.resolve('…') reach a module as surely as an import.
            const callee = node.callee;
            const isRequire =
              (callee.type === 'Identifier' && callee.name === 'require') ||
              (callee.type === 'MemberExpression' && callee.object.name === 'require');
            if (isRequire && node.arguments[0]?.type === 'Literal')
              check(node, node.arguments[0].value, false);
          },
        };
      },
    },
  },
};

module.exports = { LAYERS, layersPlugin };

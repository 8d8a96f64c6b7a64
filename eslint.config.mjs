import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './lint/layers.cjs';

const { layersPlugin } = layers;

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    // The console's script runs in the browser, as a module (console/).
    files: ['console/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'sessionStorage',
          'fetch',
          'crypto',
          'atob',
          'Intl',
          'URLSearchParams',
          'FormData',
          'Node',
          'HTMLElement',
          'navigator',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // Tests read JSON bodies of HTTP replies: loosely typed on purpose.
    files: ['test/**/*.ts', 'devstack/api-calls.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The layers and what each may import (lint/layers.cjs): workflows stay deterministic, domain/ pure.
    files: ['**/*.ts'],
    plugins: { layers: layersPlugin },
    rules: { 'layers/imports': 'error' },
  },
);

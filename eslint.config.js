import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'data/',
      'src/protocol/amqp/generated/',
      '**/*.mjs',
      '**/*.py',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    // Layering: the core and the store never reach into a protocol; the store never into the core.
    // The core sees the store only through its contracts (store/store.ts, store/spill.ts).
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '**/protocol/**',
            '**/cli/**',
            '**/server*',
            '**/store/journal/**',
            '**/store/memory/**',
            '**/store/spill/**',
            '**/store/open-stores*',
            '**/store/index*',
          ],
        },
      ],
    },
  },
  {
    // The operator commands reach a broker only through its management HTTP API: no core,
    // protocol, store or server code in them (so they work against any remote broker).
    files: ['src/cli/*.ts'],
    ignores: [
      'src/cli/main.ts',
      'src/cli/commands.ts',
      'src/cli/serve.ts',
      'src/cli/ready.ts',
      'src/cli/version.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/core/**', '**/protocol/**', '**/store/**', '**/server*', '**/config*'] },
      ],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/protocol/**', '**/core/**', '**/cli/**'] },
      ],
    },
  },
  {
    // The client is a separate layer on amqplib: it must work against any AMQP broker.
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: ['**/core/**', '**/store/**', '**/protocol/**', '**/cli/**', '**/server*'],
        },
      ],
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  {
    // The dashboard: plain browser ES modules served as they are (not compiled by tsc).
    files: ['web/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'sessionStorage',
          'fetch',
          'btoa',
          'atob',
          'Node',
          'HTMLElement',
          'TextEncoder',
          'TextDecoder',
          'ResizeObserver',
          'Intl',
          'console',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
);

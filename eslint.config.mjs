// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Layers that must not reach up into the Temporal adapters or the command line. */
const LOWER_LAYERS = [
  'src/common/**',
  'src/config/**',
  'src/postgres/**',
  'src/files/**',
  'src/compression/**',
  'src/encryption/**',
  'src/notify/**',
  'src/s3/**',
  'src/retention/**',
  'src/restore/**',
  'src/listing/**',
  'src/freshness/**',
  'src/schedule/**',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'lib/', '.tools/', '.run/', 'test-output/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { console: 'readonly', process: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['bin/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly' } },
  },
  {
    files: LOWER_LAYERS,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/activities', '**/activities/*', '**/cli/*', '**/temporal/workers'], message: 'lower layers never import the activities or the CLI' }] },
      ],
    },
  },
  {
    // Workflow code is deterministic and runs in Temporal's sandbox: no Node built-ins, no I/O, no worker-side SDK.
    files: ['src/workflows/**', 'src/common/**', 'src/freshness/state.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^node:', message: 'no Node built-ins in workflow code' },
            { regex: '^(fs|path|os|crypto|child_process|stream|zlib|net|http|https)$', message: 'no Node built-ins in workflow code' },
            { regex: '^@temporalio/(activity|worker|client)$', message: 'workflow code uses @temporalio/workflow only' },
            { regex: '/(activities|config|files|postgres|cli|temporal)(/|$)', message: 'workflow code imports pure modules only (types are fine)', allowTypeImports: true },
          ],
        },
      ],
    },
  },
);

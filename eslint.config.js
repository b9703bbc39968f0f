// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

const NODE_BUILTINS = ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'os', 'child_process'];

/** Import patterns that reach the named rooms of src/ from a sibling room: `../client`, `../client/*`. */
const rooms = (...names) =>
  names.flatMap((name) => (name.endsWith('/*') ? [`../${name}`] : [`../${name}`, `../${name}/*`]));

module.exports = tseslint.config(
  { ignores: ['node_modules/**', '.temporal/**', 'eslint.config.js', 'jest.config.js', 'bin/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Plain CommonJS, as an app compiled for Node is (bench/scale-app.cjs) and launchers are.
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        exports: 'writable',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The workflow sandbox: only @temporalio/workflow, workflow-streams and pure shared code (DESIGN.md §1).
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: NODE_BUILTINS, message: 'Workflow code runs in the sandbox.' },
            {
              group: [
                'openai',
                'zod',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
                ...rooms('client', 'define', 'worker', 'server', 'testing', 'activities/*'),
              ],
              message: 'Workflow code runs in the sandbox: it imports shared contracts, and activities as types only.',
            },
          ],
        },
      ],
    },
  },
  {
    // The layout (CONTRIBUTING.md): each room imports only the rooms below it.
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: NODE_BUILTINS, message: 'shared/ is sandbox-safe: the workflows import it.' },
            {
              group: rooms('client', 'define', 'worker', 'server', 'testing', 'workflows', 'activities'),
              message: 'shared/ holds the contracts every room uses; it imports none of them.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: rooms('define', 'worker', 'server', 'testing', 'workflows', 'activities'),
              message: 'client/ is the connection to Temporal: it knows runs as data (shared/), not definitions.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/define/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: rooms('worker', 'server', 'testing', 'workflows', 'activities'),
              message: 'define/ builds specs and runs them through the client; it knows nothing of the worker.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                ...rooms('client', 'worker', 'server', 'testing', 'workflows'),
                '../define/*',
                '!../define/contracts',
              ],
              message: 'Activities use shared contracts, and of the definitions only define/contracts.ts.',
            },
          ],
        },
      ],
    },
  },
);

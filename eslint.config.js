// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['node_modules/**', '.temporal/**', 'eslint.config.js', 'jest.config.js', 'bin/**'] },
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
    // The workflow sandbox: only @temporalio/workflow, workflow-streams and pure shared code (DESIGN.md §1).
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'os', 'child_process'],
              message: 'Workflow code runs in the sandbox.',
            },
            {
              group: [
                'openai',
                'zod',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
                '../client/*',
                '../worker/*',
              ],
              message: 'Workflow code runs in the sandbox.',
            },
          ],
        },
      ],
    },
  },
);

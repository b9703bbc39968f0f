#!/usr/bin/env node
// kern's CLI, run from its TypeScript source through tsx (which also loads the user's .ts app module).
require('tsx/cjs');
require('../src/cli.ts')
  .main(process.argv.slice(2))
  .catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });

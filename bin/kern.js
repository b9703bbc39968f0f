#!/usr/bin/env node
// kern's CLI. From the package it runs the compiled JavaScript in dist/. In a checkout of kern's own repository
// (src/ beside bin/, which the package does not ship) it runs the TypeScript source through tsx, so it never runs a
// stale build.
const { existsSync } = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, '../src/cli.ts');
let cli;
if (existsSync(source)) {
  require('tsx/cjs');
  cli = require(source);
} else {
  cli = require('../dist/cli.js');
}
cli.main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

/**
 * The package's build (`npm run build`, and `prepack` before every pack or publish): dist/ from nothing, then kern's
 * workflow code bundled from the compiled JavaScript, without and with the tracing interceptors. The JavaScript
 * leaves its comments out (they are in the declaration files, where editors show them) and has source maps, which
 * point into the repository's src/ (not shipped): stack traces under `node --enable-source-maps` give kern's lines.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger } from '@temporalio/worker';

async function main(): Promise<void> {
  const root = path.join(__dirname, '..');
  const dist = path.join(root, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const tsc = (...args: string[]) =>
    execFileSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), ...args],
      { stdio: 'inherit' },
    );
  tsc('--removeComments', '--declaration', 'false', '--sourceMap');
  tsc('--emitDeclarationOnly');

  // Bundled from what was just compiled, exactly as the package's `startWorker` will load it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the compiled module, not the source
  const { bundleWorkflows, PREBUILT_BUNDLES } = require(
    path.join(dist, 'worker/bundle'),
  ) as typeof import('../src/worker/bundle');
  mkdirSync(path.join(dist, 'bundles'));
  for (const [kind, file] of Object.entries(PREBUILT_BUNDLES)) {
    const { code } = await bundleWorkflows({ tracing: kind === 'tracing', logger: new DefaultLogger('WARN') });
    writeFileSync(path.join(dist, 'bundles', file), code);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * The package's build (`npm run build`, and `prepack` before every pack or publish): dist/ from nothing, then kern's
 * workflow code bundled from the compiled JavaScript, without and with the tracing interceptors. The JavaScript
 * leaves its comments out (they are in the declaration files, where editors show them) and has source maps, which
 * point into the repository's src/ (not shipped): stack traces under `node --enable-source-maps` give kern's lines.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger } from '@temporalio/worker';

async function main(): Promise<void> {
  const root = path.join(__dirname, '..');
  const dist = path.join(root, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const tscArgs = (...args: string[]) => [
    require.resolve('typescript/bin/tsc'),
    '-p',
    path.join(root, 'tsconfig.build.json'),
    ...args,
  ];
  execFileSync(process.execPath, tscArgs('--removeComments', '--declaration', 'false', '--sourceMap'), {
    stdio: 'inherit',
  });
  // The declarations beside the bundles, in a process of their own: the pass above has type-checked the code, so this
  // one only emits (`--noCheck`).
  const declarations = new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, tscArgs('--emitDeclarationOnly', '--noCheck'), { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`tsc --emitDeclarationOnly: exit ${code}`)),
    );
  });

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
  await declarations;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

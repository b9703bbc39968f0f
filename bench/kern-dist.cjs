// `node bench/kern-dist.cjs <command> …`: kern's CLI from the built package (dist/, `npm run build`), as an installed
// kern runs it; bin/kern.js in this repository runs the TypeScript source instead, bundling workflows at start.
require('../dist/cli.js')
  .main(process.argv.slice(2))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // examples/ holds one test too: the one docs/testing-your-app.md gives users to copy.
  roots: ['<rootDir>/test', '<rootDir>/examples'],
  testMatch: ['**/*.test.ts'],
  // Transpile only (tsconfig has isolatedModules); `npm run typecheck` type-checks.
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // jose ships ES modules only; Node (20.19+) loads them from kern's CommonJS, jest's module system does not.
    '^.+/node_modules/jose/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  moduleNameMapper: { '^kern$': '<rootDir>/src/index.ts', '^kern/(.*)$': '<rootDir>/src/$1/index.ts' },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Two cores: one test file at a time keeps the Temporal server and workers from starving each other.
  maxWorkers: 1,
  testTimeout: 60_000,
  // The Temporal runtime takes a few seconds to shut down after a file's last worker and connection close; the
  // process then exits by itself, so only warn when something holds it for longer.
  openHandlesTimeout: 10_000,
};

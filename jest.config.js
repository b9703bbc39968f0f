/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: 'tsconfig.json' }] },
  moduleNameMapper: { '^kern$': '<rootDir>/src/index.ts', '^kern/(.*)$': '<rootDir>/src/$1/index.ts' },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Two cores: one test file at a time keeps the Temporal server and workers from starving each other.
  maxWorkers: 1,
  testTimeout: 60_000,
};

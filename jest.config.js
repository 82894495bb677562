// Jest runs the TypeScript tests through ts-jest in transpile-only mode; `npm test` type-checks
// the whole tree once with tsc before jest starts, so each test file is not checked again.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }],
  },
  testTimeout: 30000,
  maxWorkers: 2,
};

// Lint: the promise rules that keep a rejected promise from taking Node-RED
// down (an unhandled rejection ends the process) or being lost silently.
// Issue 20 adds the rest of typescript-eslint's recommended-type-checked set.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.node-red-user/**', '.ci-nr5/**', '.test-tmp/**'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    // The code carries directives for rules of the full set, not on yet.
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    rules: {
      // node:test's describe() and test() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
);

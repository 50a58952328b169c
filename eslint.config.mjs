// Lint: typescript-eslint's recommended-type-checked set on the TypeScript
// sources, tests and benchmarks. Rules turned off or changed, with why:
//   - no-floating-promises: node:test's describe() and test() return promises
//     that the runner itself awaits, so they are allowed bare.
//   - no-this-alias (src/nodes): `const node = this` in a node's constructor is
//     Node-RED's documented pattern; handlers are closures over the node.
//   - restrict-template-expressions: numbers and arrays (boxes, sizes) are
//     written into messages as they print, on purpose.
//   - require-await (test/): test doubles implement promise-returning
//     interfaces with nothing to wait for.
//   - no-unsafe-* (test/e2e/editor.e2e.ts): its page.evaluate() code runs in the
//     browser against the editor's untyped `RED` global.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.node-red-user/**', '.ci-nr5/**', '.test-tmp/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowArray: true, allowBoolean: true }],
    },
  },
  { files: ['src/nodes/**/*.ts'], rules: { '@typescript-eslint/no-this-alias': 'off' } },
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/require-await': 'off' } },
  {
    files: ['test/e2e/editor.e2e.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);

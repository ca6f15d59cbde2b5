// Lint rules that keep the code's shape: typescript-eslint's recommended set, no import cycles, the
// dependency arrows of docs/architecture.md (protocol engines never reach sockets, files or storage), and
// the layout rules that stand in for a formatter (`npm run format` applies them).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import stylistic from '@stylistic/eslint-plugin';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';
import noTypeImportCycle from './scripts/lint/no-type-import-cycle.js';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', '.tmp/**', 'bench/results/**', '**/*.js', '**/*.mjs', '!eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })],
    },
    rules: {
      // A cycle makes module load order matter and hides which layer owns what.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // `_name` marks a parameter an interface requires; `{ x: _x, ...rest }` is how a field is left out.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true, caughtErrors: 'none' },
      ],
      // Generators cannot be arrow functions, so a method that returns one names `this` as `self`.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
      // Mail protocols forbid NUL and other control characters; the checks name them in regular expressions.
      'no-control-regex': 'off',
      // Tests match column-aligned CLI output literally.
      'no-regex-spaces': 'off',
      // Errors are logged as the error object under `err` (pino keeps type, message and stack), never as text.
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.property.name=/^(fatal|error|warn|info|debug|trace)$/] > ObjectExpression.arguments:first-child > Property[key.name='err'] > :matches(CallExpression, TemplateLiteral, MemberExpression[property.name=/^(message|stack)$/])",
        message: 'Log the error object itself as `err` (pino keeps its stack), not String(err) or its message.',
      }, {
        selector: "CallExpression[callee.property.name=/^(fatal|error|warn|info|debug|trace)$/] > ObjectExpression.arguments:first-child > Property[key.name='error']",
        message: 'Log errors under `err` (the field pino serializes with the stack), not `error`.',
      }],
    },
  },
  {
    // The formatter: the layout the code already has, so that `eslint --fix` (npm run format) keeps it and a
    // diff shows only what changed. Line length is left to the writer: long test vectors and log lines read
    // better unbroken.
    files: ['**/*.ts', 'eslint.config.js'],
    plugins: { '@stylistic': stylistic },
    rules: {
      '@stylistic/indent': ['error', 2, { SwitchCase: 1, offsetTernaryExpressions: true }],
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'always' }],
      '@stylistic/semi': ['error', 'always'],
      '@stylistic/semi-spacing': 'error',
      '@stylistic/comma-dangle': ['error', 'always-multiline'],
      '@stylistic/comma-spacing': 'error',
      '@stylistic/key-spacing': 'error',
      '@stylistic/keyword-spacing': 'error',
      '@stylistic/space-before-blocks': 'error',
      '@stylistic/space-before-function-paren': ['error', { anonymous: 'always', named: 'never', asyncArrow: 'always' }],
      '@stylistic/space-infix-ops': 'error',
      '@stylistic/function-call-spacing': 'error',
      '@stylistic/brace-style': ['error', '1tbs', { allowSingleLine: true }],
      '@stylistic/arrow-parens': ['error', 'always'],
      '@stylistic/member-delimiter-style': 'error',
      '@stylistic/type-annotation-spacing': 'error',
      '@stylistic/no-multi-spaces': 'error',
      '@stylistic/no-trailing-spaces': 'error',
      '@stylistic/no-tabs': 'error',
      '@stylistic/no-multiple-empty-lines': ['error', { max: 1 }],
      '@stylistic/eol-last': 'error',
    },
  },
  {
    // Protocol engines are pure: bytes in, replies out. Sockets, files and storage belong to transport/,
    // store/ and the composition root; policy reaches an engine only through the hooks it declares.
    files: ['src/protocols/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['net', 'tls', 'fs', 'fs/promises', 'node:net', 'node:tls', 'node:fs', 'node:fs/promises'].map((name) => ({
          name,
          message: 'Protocol engines do no I/O: sockets and files belong to src/transport/ and src/app/.',
        })),
        patterns: [{
          regex: '^(\\.\\./)+(store|queue|policy)(/|$)',
          message: 'Protocol engines reach storage, the queue and policy only through the hooks they declare.',
        }],
      }],
    },
  },
  {
    // Callers depend on the storage contract (store/types.ts) only; store/open.ts picks the backend, and
    // SQL and backend internals stay in store/<backend>/ (tests of those internals live there too).
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    ignores: ['src/store/**', 'src/protocols/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: '(^|/)store/(sqlite|postgres)(/|$)',
          message: 'Depend on store/types.ts and open the store with store/open.ts; backend internals stay in src/store/<backend>/.',
        }],
      }],
    },
  },
  {
    // import-x/no-cycle does not follow `import type`; inside the IMAP engine type-only cycles count too
    // (command handlers see the session through ImapSessionCore, never the session class).
    files: ['src/protocols/imap/**/*.ts'],
    plugins: { local: { rules: { 'no-type-import-cycle': noTypeImportCycle } } },
    rules: { 'local/no-type-import-cycle': ['error', { root: 'src/protocols/imap' }] },
  },
  {
    // Tests and test doubles poke at loosely typed JSON and protocol responses.
    files: ['**/*.test.ts', 'test/**/*.ts', 'src/**/testing/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);

// Lint rules for the TypeScript tree: typescript-eslint's recommended set, plus the import
// boundaries each folder states in its README or header (no-restricted-imports). Flat config
// replaces a rule's options rather than merging them, so every file matches exactly one
// boundary entry below, which lists all the patterns that apply to it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A forbidden import specifier, as a regular expression on the text after `from`. */
const forbid = (regex, message) => ({ regex, message, caseSensitive: true });

// ---------------------------------------------------------------- the simulator from outside

const SIMULATOR_ONLY_FROM_CLI = forbid(
  '(^|/)simulator(/|$)',
  'The simulator is a XAPI server: nothing in the service knows it is there. Only src/cli ' +
    'starts it (and tests and benchmarks).',
);
const SIMULATOR_VIA_INDEX_FROM_SRC = forbid(
  '(^|/)simulator/',
  "Import the simulator through its public entry ('../simulator'), not its internals.",
);
const SIMULATOR_VIA_INDEX = forbid(
  '(^|/)src/simulator/',
  "Import the simulator through its public entry ('../../src/simulator'), not its internals.",
);

// ---------------------------------------------------------------- the simulator's own folders

const SIM_BEYOND_DATAMODEL = (up) =>
  forbid(
    `^${up}(?!xapi/datamodel\\.generated$)`,
    'The simulator imports nothing of the project but src/xapi/datamodel.generated.',
  );
const SIM_NOT_INDEX = forbid(
  '^\\.\\.(/index)?/?$',
  'Simulator folders never import src/simulator/index.ts: it composes them.',
);
const SIM_FOLDER = [SIM_NOT_INDEX, SIM_BEYOND_DATAMODEL('\\.\\./\\.\\./')];

/** Each simulator folder and the sibling folders it must not import, with the reason. */
const SIMULATOR_FOLDERS = {
  wire: {
    classes: 'The wire holds no XAPI semantics: it calls dispatch in engine/.',
    seed: 'The wire never reaches the seeded pool.',
  },
  engine: {
    wire: 'The engine knows no wire syntax: what it needs of the wire, index.ts hands it.',
    formats: "The engine stores bytes; image layouts are the wire's to read and write.",
    classes: 'The engine knows no class semantics: classes plug in through registry.ts.',
    seed: 'The engine never reaches the seeded pool.',
  },
  classes: {
    wire: 'Classes never parse or format the wire.',
    formats: "Classes copy content as bytes; image layouts are the wire's.",
    seed: 'Classes never reach the seeded pool.',
  },
  seed: {
    wire: 'Seeds write records and start nothing: they never touch the wire.',
    formats: 'Seeds write records, never image bytes.',
  },
  formats: {
    engine: 'Image formats are pure byte layouts: no store, task or disk.',
    wire: 'Image formats know no HTTP: the wire calls them.',
    classes: 'Image formats know no XAPI semantics.',
    seed: 'Image formats never reach the seeded pool.',
  },
};
const simulatorFolder = ([folder, forbidden]) => ({
  files: [`src/simulator/${folder}/**/*.ts`],
  patterns: [
    ...SIM_FOLDER,
    ...Object.entries(forbidden).map(([other, why]) => forbid(`^\\.\\./${other}(/|$)`, why)),
  ],
});

// ---------------------------------------------------------------- the service's layers

/** Forbids importing the named top-level folders of src/ from a file `depth` folders below src. */
const layer = (depth, folders, why) =>
  forbid(`^(\\.\\./){${depth}}(${folders.join('|')})(/|$)`, why);
const NO_UPWARD = (depth) => [
  layer(
    depth,
    ['api', 'app', 'client', 'cli'],
    'Arrows point one way: the driver and the XAPI client know no HTTP, no client and no command.',
  ),
];
const DRIVER_RESOURCES = [
  'runner',
  'instances',
  'snapshots',
  'devices',
  'consoles',
  'recovery',
  'reconcile',
  'index',
];

const boundaries = [
  {
    files: ['src/xapi/**/*.ts'],
    patterns: [
      SIMULATOR_ONLY_FROM_CLI,
      ...NO_UPWARD(1),
      layer(1, ['driver'], 'The XAPI client knows nothing of the driver above it.'),
    ],
  },
  {
    files: ['src/driver/*.ts'],
    patterns: [SIMULATOR_ONLY_FROM_CLI, ...NO_UPWARD(1)],
  },
  {
    // The console proxy: tickets, RFB and relays over the XAPI client; no resource module.
    files: ['src/driver/console-proxy/**/*.ts'],
    patterns: [
      SIMULATOR_ONLY_FROM_CLI,
      ...NO_UPWARD(2),
      forbid(
        `^\\.\\./(${[...DRIVER_RESOURCES, 'procedures', 'spawn', 'views'].join('|')})(/|$)`,
        'The console proxy is given what it needs (ResolveTarget): it calls no resource module.',
      ),
    ],
  },
  {
    // Read-only views answer from the mirror: they never run an operation or change the pool.
    files: ['src/driver/views/**/*.ts'],
    patterns: [
      SIMULATOR_ONLY_FROM_CLI,
      ...NO_UPWARD(2),
      forbid(
        `^\\.\\./(${[...DRIVER_RESOURCES, 'procedures', 'spawn', 'journal', 'lease', 'steps'].join('|')})(/|$)`,
        'Views only read the mirror: no operation, procedure or XAPI write.',
      ),
    ],
  },
  {
    // Procedures (and the spawn's steps) say what an operation does in XAPI; the runner and
    // the resource modules decide when and whether it runs.
    files: ['src/driver/procedures/**/*.ts', 'src/driver/spawn/**/*.ts'],
    patterns: [
      SIMULATOR_ONLY_FROM_CLI,
      ...NO_UPWARD(2),
      forbid(
        `^\\.\\./(${DRIVER_RESOURCES.join('|')}|views)(/|$)`,
        'Procedures know nothing of scheduling, resources or views.',
      ),
    ],
  },
  {
    // HTTP: routes call the driver through its port, never XAPI.
    files: ['src/api/**/*.ts', 'src/app.ts'],
    patterns: [
      SIMULATOR_ONLY_FROM_CLI,
      forbid('(^|/)xapi(/|$)', 'Routes never call XAPI: they call the driver (driver-port.ts).'),
      forbid('(^|/)(client|cli)(/|$)', 'The HTTP layer knows no client and no command.'),
    ],
  },
  {
    files: ['src/client/**/*.ts'],
    patterns: [
      SIMULATOR_ONLY_FROM_CLI,
      forbid(
        '^\\.\\./(?!contract/)',
        'The client speaks only HTTP: it imports the contract and nothing else of the project.',
      ),
    ],
  },
  {
    files: ['src/*.ts'],
    ignores: ['src/app.ts'],
    patterns: [SIMULATOR_ONLY_FROM_CLI],
  },
  { files: ['src/cli/**/*.ts'], patterns: [SIMULATOR_VIA_INDEX_FROM_SRC] },
  {
    // test/simulator is the simulator's own suite: it unit-tests codecs, store and registry.
    files: ['test/**/*.{ts,mjs}', 'bench/**/*.{ts,mjs}', 'scripts/**/*.{ts,mjs}'],
    ignores: ['test/simulator/**'],
    patterns: [SIMULATOR_VIA_INDEX],
  },
  { files: ['src/simulator/index.ts'], patterns: [SIM_BEYOND_DATAMODEL('\\.\\./')] },
  ...Object.entries(SIMULATOR_FOLDERS).map(simulatorFolder),
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'addon/**',
      'src/contract/**',
      'src/xapi/datamodel.generated.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain ES modules run by Node (benchmark peers and load generators).
    files: ['**/*.mjs'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'process',
          'console',
          'URL',
          'Buffer',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  { rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  ...boundaries.map(({ files, ignores, patterns }) => ({
    files,
    ...(ignores ? { ignores } : {}),
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  })),
);

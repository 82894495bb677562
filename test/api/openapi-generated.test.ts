// Fails when src/contract/openapi.generated.ts is stale: regenerates the types from
// openapi/compute-driver.yaml (in a child process: openapi-typescript is ESM-only underneath)
// and compares with the committed file. Fix with `npm run gen:openapi`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

test('the committed generated types match the spec (run `npm run gen:openapi`)', () => {
  const fresh = execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/gen-openapi.ts', '--stdout'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 50_000,
    },
  );
  expect(readFileSync(join(ROOT, 'src', 'contract', 'openapi.generated.ts'), 'utf8')).toBe(fresh);
}, 60_000);

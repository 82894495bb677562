// The README's first session works as written: its shell block runs (bash, curl and the built
// ./bin/xcd.js) against `xcd serve` on the embedded simulator with XCD_TOKEN=demo-token, only
// the URL swapped for the test's port. Needs dist/ (npm install builds it).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { startService, type RunningService } from '../../src/cli/serve';
import { loadServeConfig } from '../../src/config';

const ROOT = join(__dirname, '..', '..');
const built = existsSync(join(ROOT, 'dist', 'cli', 'main.js'));

/** The shell block after "In another terminal:" in the README's "A first session". */
function sessionBlock(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A first session'));
  const m = /In another terminal:\s*```sh\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README: no session block');
  return m[1];
}

let svc: RunningService;

beforeAll(async () => {
  svc = await startService(
    loadServeConfig({ listen: '127.0.0.1:0' }, { XCD_TOKEN: 'demo-token' }),
    pino({ level: 'silent' }),
  );
  // The README says to wait for the banner, which `xcd serve` shows once the service is ready.
  await svc.ready;
});
afterAll(async () => {
  await svc?.close();
});

test('the README session runs and does what it says', async () => {
  if (!built) throw new Error('dist/ is missing: `npm install` builds it (prepare)');
  const script = sessionBlock().replace('http://127.0.0.1:8780', svc.url);
  expect(script).toContain(svc.url);
  const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: ROOT,
    timeout: 90_000,
    env: { ...process.env, XCD_URL: '', XCD_TOKEN: '' },
  });
  expect(stdout.match(/"status":"succeeded"/g)?.length).toBeGreaterThanOrEqual(3);
  expect(stdout).toContain('Debian Bookworm 12');
  for (const line of ['spawned web-1', 'powered off web-1', 'powered on web-1', 'destroyed web-1'])
    expect(stdout).toContain(line);
  expect(stdout).toMatch(/hypervisor\s+xen \d+/);
}, 120_000);

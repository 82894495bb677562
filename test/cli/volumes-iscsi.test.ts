// `xcd volumes attach --iscsi` against the real stack: a LUN of a simulated target attached by
// portal, IQN and LUN with the CHAP password from a file or XCD_CHAP_PASSWORD (never argv),
// listed with its volume id and target, detached by the volume id; a missing flag refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ISCSI_IQN, ISCSI_PORTAL, SECRET, registerTarget } from '../driver/iscsi-helpers';
import { startStack, type Stack } from '../helpers/stack';
import { xcd } from './run';

let stack: Stack;
let conn: string[];
let dir: string;

beforeAll(async () => {
  stack = await startStack();
  registerTarget(stack.sim);
  conn = ['--url', stack.url, '--token', stack.tokens.operator];
  dir = mkdtempSync(join(tmpdir(), 'xcd-iscsi-'));
  const templates = await stack.request('GET', '/v1/templates');
  const template = templates.body.items.find((t: { disk_gb?: number }) => t.disk_gb)?.uuid;
  const res = await stack.request('PUT', '/v1/instances/cli-i1', {
    body: { template, vcpus: 1, memory_mb: 256 },
    headers: { prefer: 'wait=15' },
  });
  expect(res.body.status).toBe('succeeded');
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

const target = ['--iscsi', '--portal', ISCSI_PORTAL, '--iqn', ISCSI_IQN, '--chap-user', 'cinder'];

test('xcd volumes attach --iscsi with the password from a file or the environment', async () => {
  const file = join(dir, 'chap');
  writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
  const a = await xcd(
    'volumes',
    'attach',
    'cli-i1',
    'cli-vol-1',
    ...conn,
    ...target,
    '--lun',
    '0',
    '--chap-password-file',
    file,
    '--device',
    '6',
  );
  expect([a.code, a.stdout.trim(), a.stderr]).toEqual([0, 'attached cli-vol-1 to cli-i1', '']);

  process.env.XCD_CHAP_PASSWORD = SECRET;
  try {
    const b = await xcd(
      'volumes',
      'attach',
      'cli-i1',
      'cli-vol-2',
      ...conn,
      ...target,
      '--lun',
      '1',
    );
    expect([b.code, b.stdout.trim(), b.stderr]).toEqual([0, 'attached cli-vol-2 to cli-i1', '']);
  } finally {
    delete process.env.XCD_CHAP_PASSWORD;
  }

  const listed = JSON.parse((await xcd('volumes', 'list', 'cli-i1', ...conn, '--json')).stdout);
  // By device: the second took the lowest free position.
  expect(listed).toEqual([
    expect.objectContaining({ volume_id: 'cli-vol-2', device: '1', size_gb: 3 }),
    expect.objectContaining({
      volume_id: 'cli-vol-1',
      device: '6',
      iscsi: { target_portal: ISCSI_PORTAL, target_iqn: ISCSI_IQN, target_lun: 0 },
    }),
  ]);
  const table = (await xcd('volumes', 'list', 'cli-i1', ...conn)).stdout;
  expect(table).toMatch(/6\s+\S+\s+LUN0\s+2\s+RW\s+yes\s+cli-vol-1\s+10\.0\.0\.5:3260/);
  expect(table).not.toContain(SECRET);

  for (const id of ['cli-vol-1', 'cli-vol-2'])
    expect((await xcd('volumes', 'detach', 'cli-i1', id, ...conn)).code).toBe(0);
  expect(JSON.parse((await xcd('volumes', 'list', 'cli-i1', ...conn, '--json')).stdout)).toEqual(
    [],
  );
});

test('xcd volumes attach --iscsi refuses incomplete flags and a wrong password', async () => {
  const noLun = await xcd('volumes', 'attach', 'cli-i1', 'cli-vol-3', ...conn, ...target);
  expect(noLun.code).not.toBe(0);
  expect(noLun.stderr).toContain('--iscsi needs --portal, --iqn and --lun');
  const noPassword = await xcd(
    'volumes',
    'attach',
    'cli-i1',
    'cli-vol-3',
    ...conn,
    ...target,
    '--lun',
    '0',
  );
  expect(noPassword.code).not.toBe(0);
  expect(noPassword.stderr).toContain('XCD_CHAP_PASSWORD');
  const file = join(dir, 'wrong');
  writeFileSync(file, 'not-it');
  const wrong = await xcd(
    'volumes',
    'attach',
    'cli-i1',
    'cli-vol-3',
    ...conn,
    ...target,
    '--lun',
    '0',
    '--chap-password-file',
    file,
  );
  expect(wrong.code).not.toBe(0);
  expect(wrong.stderr).toContain('iscsi_login_failed');
});

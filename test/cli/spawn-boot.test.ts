// `xcd instances spawn` boot options against the real stack: `--firmware uefi --secure-boot` and
// `--vm-mode pv` shown by `instances show`; `--root-volume --iscsi` booting from a LUN of a
// simulated target with the CHAP password from a file (never argv); a conflict's error printed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ISCSI_IQN, ISCSI_PORTAL, SECRET, registerTarget } from '../driver/iscsi-helpers';
import { startStack, type Stack } from '../helpers/stack';
import { xcd } from './run';

let stack: Stack;
let conn: string[];
let dir: string;
let template: string;

beforeAll(async () => {
  stack = await startStack();
  registerTarget(stack.sim);
  conn = ['--url', stack.url, '--token', stack.tokens.operator];
  dir = mkdtempSync(join(tmpdir(), 'xcd-boot-'));
  template = JSON.parse((await xcd('templates', ...conn, '--json')).stdout)[0].name_label;
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('xcd instances spawn --firmware uefi --secure-boot, and --vm-mode pv', async () => {
  const uefi = await xcd(
    'instances',
    'spawn',
    'cli-uefi',
    ...conn,
    '--template',
    template,
    '--firmware',
    'uefi',
    '--secure-boot',
  );
  expect([uefi.code, uefi.stderr]).toEqual([0, '']);
  const shown = JSON.parse((await xcd('instances', 'show', 'cli-uefi', ...conn, '--json')).stdout);
  expect(shown).toMatchObject({ vm_mode: 'hvm', firmware: 'uefi', secure_boot: true });
  const text = (await xcd('instances', 'show', 'cli-uefi', ...conn)).stdout;
  expect(text).toMatch(/boot\s+hvm uefi secure boot/);

  const pv = await xcd(
    'instances',
    'spawn',
    'cli-pv',
    ...conn,
    '--template',
    template,
    '--vm-mode',
    'pv',
  );
  expect([pv.code, pv.stderr]).toEqual([0, '']);
  expect((await xcd('instances', 'show', 'cli-pv', ...conn)).stdout).toMatch(/boot\s+pv\n/);

  const bad = await xcd(
    'instances',
    'spawn',
    'cli-bad',
    ...conn,
    '--template',
    template,
    '--vm-mode',
    'pv',
    '--firmware',
    'uefi',
  );
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/boot_settings_conflict/);
});

test('xcd instances spawn --root-volume --iscsi boots from the LUN', async () => {
  const file = join(dir, 'chap');
  writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
  const spawned = await xcd(
    'instances',
    'spawn',
    'cli-bfv',
    ...conn,
    '--root-volume',
    'cli-root',
    '--iscsi',
    '--portal',
    ISCSI_PORTAL,
    '--iqn',
    ISCSI_IQN,
    '--lun',
    '1',
    '--chap-user',
    'cinder',
    '--chap-password-file',
    file,
  );
  expect([spawned.code, spawned.stderr]).toEqual([0, '']);
  expect(spawned.stdout).not.toContain(SECRET);
  const volumes = JSON.parse((await xcd('volumes', 'list', 'cli-bfv', ...conn, '--json')).stdout);
  expect(volumes).toEqual([
    expect.objectContaining({
      volume_id: 'cli-root',
      device: '0',
      iscsi: { target_portal: ISCSI_PORTAL, target_iqn: ISCSI_IQN, target_lun: 1 },
    }),
  ]);
  const gone = await xcd('instances', 'destroy', 'cli-bfv', ...conn);
  expect([gone.code, gone.stderr]).toEqual([0, '']);
  expect([...stack.sim.store.all('SR').values()].filter((sr) => sr.type === 'iscsi')).toEqual([]);
});

// `xcd instances config-drive ID`: the instance's config drive rebuilt with the user data of a
// file and the metadata given, following the operation; the new drive holds them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readIso } from '../driver/iso-reader';
import { startStack, type Stack } from '../helpers/stack';
import { xcd } from './run';

let stack: Stack;
let dir: string;

beforeAll(async () => {
  stack = await startStack();
  dir = mkdtempSync(join(tmpdir(), 'xcd-cli-cd-'));
  const templates = (await stack.request('GET', '/v1/templates')).body.items;
  const template = (templates.find((t: { disk_gb?: number }) => t.disk_gb) ?? templates[0]).uuid;
  const res = await stack.request('PUT', '/v1/instances/cd-1', {
    body: { template, vcpus: 1, memory_mb: 256, user_data: Buffer.from('one').toString('base64') },
    headers: { prefer: 'wait=15' },
  });
  expect(res.body.status).toBe('succeeded');
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The files of the instance's config drive, as its VDI holds them in the simulator. */
async function driveFiles(): Promise<Map<string, Buffer>> {
  const inst = (await stack.request('GET', '/v1/instances/cd-1')).body;
  const uuid = inst.disks.find((d: { type: string; uuid?: string }) => d.type === 'cdrom' && d.uuid)
    .uuid as string;
  return readIso(readFileSync(stack.sim.vdiContent(uuid))).files;
}

test('rebuilds the drive with the user data file and metadata', async () => {
  const userData = join(dir, 'user-data');
  writeFileSync(userData, '#cloud-config\nhostname: two\n');
  const out = await xcd(
    'instances',
    'config-drive',
    'cd-1',
    '--user-data-file',
    userData,
    '--metadata',
    '{"role": "web"}',
    '--url',
    stack.url,
    '--token',
    stack.tokens.operator,
  );
  expect([out.code, out.stdout.trim().split('\n').pop()]).toEqual([
    0,
    'rebuilt the config drive of cd-1',
  ]);
  const files = await driveFiles();
  expect(files.get('openstack/latest/user_data')?.toString()).toBe(
    '#cloud-config\nhostname: two\n',
  );
  // The metadata given is merged over the generated members of meta_data.json.
  const meta = JSON.parse(files.get('openstack/latest/meta_data.json')!.toString());
  expect(meta).toMatchObject({ role: 'web', uuid: expect.any(String) });
});

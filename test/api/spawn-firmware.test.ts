// The HTTP surface of a spawn's boot settings on the real stack (responses validated against the
// spec): `firmware`, `secure_boot` and `vm_mode` in the body, shown on the instance; settings
// that do not fit together answered 422 boot_settings_conflict and values outside the contract
// 400 invalid_request, with no instance made.
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const wait = { prefer: 'wait=15' };

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

async function template(): Promise<string> {
  const items = (await stack.request('GET', '/v1/templates')).body.items;
  return (items.find((t: { disk_gb?: number }) => t.disk_gb) ?? items[0]).uuid;
}

test('a spawn with UEFI and Secure Boot, and one in PV mode, show their settings', async () => {
  const uefi = await stack.request('PUT', '/v1/instances/http-uefi', {
    body: { template: await template(), firmware: 'uefi', secure_boot: true },
    headers: wait,
  });
  expect([uefi.status, uefi.body.status]).toEqual([200, 'succeeded']);
  expect(uefi.body.result).toMatchObject({ vm_mode: 'hvm', firmware: 'uefi', secure_boot: true });
  const shown = await stack.request('GET', '/v1/instances/http-uefi');
  expect(shown.body).toMatchObject({ vm_mode: 'hvm', firmware: 'uefi', secure_boot: true });

  const pv = await stack.request('PUT', '/v1/instances/http-pv', {
    body: { template: await template(), vm_mode: 'pv' },
    headers: wait,
  });
  expect([pv.status, pv.body.status]).toEqual([200, 'succeeded']);
  expect(pv.body.result).toMatchObject({ vm_mode: 'pv', power_state: 'running' });
  expect(pv.body.result.firmware).toBeUndefined();
});

test('settings that do not fit, or are not in the contract, are refused with no instance made', async () => {
  const t = await template();
  for (const [body, status, code] of [
    [{ template: t, vm_mode: 'pv', firmware: 'uefi' }, 422, 'boot_settings_conflict'],
    [{ template: t, firmware: 'bios', secure_boot: true }, 422, 'boot_settings_conflict'],
    [{ template: t, firmware: 'efi' }, 400, 'invalid_request'],
    [{ template: t, vm_mode: 'xen' }, 400, 'invalid_request'],
    [{ template: t, secure_boot: 'yes' }, 400, 'invalid_request'],
  ] as const) {
    const res = await stack.request('PUT', '/v1/instances/http-bad', { body, headers: wait });
    expect([JSON.stringify(body), res.status, res.body.code]).toEqual([
      JSON.stringify(body),
      status,
      code,
    ]);
  }
  const gone = await stack.request('GET', '/v1/instances/http-bad');
  expect([gone.status, gone.body.code]).toEqual([404, 'instance_not_found']);
});

// `xcd serve`'s driver options from flags and environment: the service id (the owner written
// on its work in flight) and the operator's volume SRs, each checked before the service starts.
import { loadServeConfig } from '../../src/config';

const SR = '4b1c6f2e-8a4d-4c3b-9f1e-2d7a5b6c8e90';
const SR2 = '0f0e0d0c-0b0a-4909-8807-060504030201';

test('a service id and volume SRs from flags reach the driver options', () => {
  const cfg = loadServeConfig({ serviceId: 'xcd-a.pool1', volumeSr: [SR, SR2] }, {});
  expect(cfg.driver).toEqual({ serviceId: 'xcd-a.pool1', volumeSrs: [SR, SR2] });
});

test('the environment gives them when no flag does (volume SRs comma-separated)', () => {
  const cfg = loadServeConfig({}, { XCD_SERVICE_ID: 'svc-2', XCD_VOLUME_SRS: `${SR}, ${SR2}` });
  expect(cfg.driver).toEqual({ serviceId: 'svc-2', volumeSrs: [SR, SR2] });
});

test('without either the driver picks its default id and no volume SR', () => {
  expect(loadServeConfig({}, {}).driver).toEqual({ volumeSrs: [] });
});

test('a service id the owner tag cannot carry and a volume SR that is no uuid are refused', () => {
  expect(() => loadServeConfig({ serviceId: 'a/b' }, {})).toThrow(/--service-id/);
  expect(() => loadServeConfig({ volumeSr: ['Local storage'] }, {})).toThrow(/--volume-sr/);
});

test('a VLAN device and range from flags or the environment reach the driver options', () => {
  expect(loadServeConfig({ vlanPifDevice: 'eth1', vlanRange: '100-199' }, {}).driver).toEqual({
    volumeSrs: [],
    vlans: { device: 'eth1', min: 100, max: 199 },
  });
  expect(
    loadServeConfig({}, { XCD_VLAN_PIF_DEVICE: 'bond0', XCD_VLAN_RANGE: '2-4094' }).driver.vlans,
  ).toEqual({ device: 'bond0', min: 2, max: 4094 });
});

test('a VLAN device without a range, a range without a device and bad ranges are refused', () => {
  expect(() => loadServeConfig({ vlanPifDevice: 'eth1' }, {})).toThrow(/--vlan-range/);
  expect(() => loadServeConfig({ vlanRange: '100-199' }, {})).toThrow(/--vlan-pif-device/);
  for (const vlanRange of ['0-10', '200-100', '1-4095', '100', 'a-b'])
    expect(() => loadServeConfig({ vlanPifDevice: 'eth1', vlanRange }, {})).toThrow(/--vlan-range/);
});

test('a public URL for a service behind a proxy, from the flag or the environment', () => {
  expect(loadServeConfig({ publicUrl: 'https://xcd.example.com/' }, {}).publicUrl).toBe(
    'https://xcd.example.com',
  );
  expect(loadServeConfig({}, { XCD_PUBLIC_URL: 'http://10.0.0.9:8080' }).publicUrl).toBe(
    'http://10.0.0.9:8080',
  );
  expect(loadServeConfig({}, {}).publicUrl).toBeUndefined();
  for (const bad of ['xcd.example.com', 'ftp://x/', 'https://x/base/path'])
    expect(() => loadServeConfig({ publicUrl: bad }, {})).toThrow(/--public-url/);
});

// `xcd serve` without --xapi: the embedded simulator, a generated admin token that works, a
// banner with a pasteable session, and a clean shutdown. Also the configuration parsing.
import pino from 'pino';
import { banner, startService } from '../../src/cli/serve';
import { loadServeConfig, parseListen } from '../../src/config';

test('serve on the embedded simulator prints a working token and example', async () => {
  const cfg = loadServeConfig({ listen: '127.0.0.1:0' }, {});
  const svc = await startService(cfg, pino({ level: 'silent' }));
  try {
    expect(svc.simulator).toBeDefined();
    expect(svc.generatedToken).toMatch(/^xcd_/);
    const res = await fetch(`${svc.url}/v1/host`, {
      headers: { authorization: `Bearer ${svc.generatedToken}` },
    });
    expect(res.status).toBe(200);
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
    const text = banner(svc, svc.generatedToken, 'Debian');
    expect(text).toContain(`export XCD_URL=${svc.url} XCD_TOKEN=${svc.generatedToken}`);
    expect(text).toContain('"template": "Debian"');
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toContain('process_cpu_user_seconds_total');
  } finally {
    await svc.close();
  }
});

test('configuration from flags and XCD_* variables', () => {
  expect(parseListen('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
  expect(parseListen('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
  expect(parseListen('9000')).toEqual({ host: '127.0.0.1', port: 9000 });
  expect(() => parseListen('nope')).toThrow(/HOST:PORT/);
  const cfg = loadServeConfig(
    { listen: '127.0.0.1:1234' },
    {
      XCD_XAPI_URL: 'https://pool',
      XCD_XAPI_PASSWORD: 'pw',
      XCD_TOKEN: 't',
      XCD_TOKEN_ROLE: 'operator',
      XCD_LISTEN: '0.0.0.0:1',
    },
  );
  expect(cfg).toMatchObject({
    xapi: { url: 'https://pool', user: 'root', password: 'pw', insecure: false },
    listen: { host: '127.0.0.1', port: 1234 },
    envToken: { token: 't', namespace: 'default', role: 'operator' },
  });
  expect(() => loadServeConfig({ xapi: 'https://pool' }, {})).toThrow(/password/);
  expect(() => loadServeConfig({}, { XCD_TOKEN: 't', XCD_TOKEN_ROLE: 'root' })).toThrow(
    /XCD_TOKEN_ROLE/,
  );
});

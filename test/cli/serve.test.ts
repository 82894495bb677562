// `xcd serve` without --xapi: the embedded simulator, a generated admin token that works, a
// banner with a pasteable session (a configured token never in it), and a clean shutdown. Also
// the configuration parsing, credentials in the XAPI URL included.
import pino from 'pino';
import { banner, startService } from '../../src/cli/serve';
import { loadServeConfig, parseListen, splitUserinfo } from '../../src/config';

test('serve on the embedded simulator prints a working token and example', async () => {
  const cfg = loadServeConfig({ listen: '127.0.0.1:0' }, {});
  const svc = await startService(cfg, pino({ level: 'silent' }));
  try {
    expect(svc.simulator).toBeDefined();
    expect(svc.generatedToken).toMatch(/^xcd_/);
    await svc.ready;
    const res = await fetch(`${svc.url}/v1/host`, {
      headers: { authorization: `Bearer ${svc.generatedToken}` },
    });
    expect(res.status).toBe(200);
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
    const text = banner(svc, 'Debian');
    expect(text).toContain(`export XCD_URL=${svc.url} XCD_TOKEN=${svc.generatedToken}`);
    expect(text).toContain('"template": "Debian"');
    expect(text).toMatch(/generated for this run/);
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

test('the banner never shows a configured token', async () => {
  const svc = await startService(
    loadServeConfig({ listen: '127.0.0.1:0' }, { XCD_TOKEN: 'tok-configured-banner' }),
    pino({ level: 'silent' }),
  );
  try {
    expect(svc.generatedToken).toBeUndefined();
    const text = banner(svc, 'Debian');
    expect(text).not.toContain('tok-configured-banner');
    expect(text).toContain('XCD_TOKEN=<your token>');
  } finally {
    await svc.close();
  }
});

test('credentials in the XAPI URL are moved out of it', () => {
  const cfg = loadServeConfig({ xapi: 'https://admin:p%40ss:w@pool.example:8443/' }, {});
  expect(cfg.xapi).toMatchObject({
    url: 'https://pool.example:8443/',
    user: 'admin',
    password: 'p@ss:w',
  });
  // Given settings win over the URL's; the URL still loses its userinfo.
  const given = loadServeConfig(
    { xapi: 'https://admin:inurl@pool', xapiUser: 'root' },
    { XCD_XAPI_PASSWORD: 'given' },
  );
  expect(given.xapi).toMatchObject({ url: 'https://pool', user: 'root', password: 'given' });
  expect(splitUserinfo('unix:///var/lib/xcp/xapi')).toEqual({ url: 'unix:///var/lib/xcp/xapi' });
});

test('no token configured and none may be generated is an error naming what to give', async () => {
  await expect(
    startService(loadServeConfig({ listen: '127.0.0.1:0' }, {}), pino({ level: 'silent' }), {
      allowGeneratedToken: false,
    }),
  ).rejects.toThrow(/--tokens-file|XCD_TOKEN/);
});

// The xcd driver's VNC relay as FireEdge meets it: the VM's deployment file (as oned writes it)
// holds GRAPHICS TYPE=VNC with a PORT and PASSWD; guacd connects to that port and answers RFB
// 3.8's VNC Authentication with PASSWD; the relay fetches a one-time `vnc` console from the
// service and the viewer sees the VM's screen. The relay runs as the front-end runs it: the
// installed program, its settings in the environment. Must not: use a shell.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectTcp,
  distinctPixels,
  readFramebuffer,
  rfbInit,
  rfbSecurity,
} from '../helpers/rfb-client';
import { startStack, type Stack } from '../helpers/stack';
import { INTEGRATIONS, install, run } from './orchestrator';

const HOST = 'xen01';
let stack: Stack;
let dir: string;
let vmmDir: string;
let env: Record<string, string>;
let relay: ChildProcess | undefined;
let relayLog = '';

beforeAll(async () => {
  stack = await startStack({
    driver: { consoles: { vnc: { listenHost: '127.0.0.1', ports: { min: 0, max: 0 } } } },
  });
  dir = mkdtempSync(join(tmpdir(), 'xcd-one-vnc-'));
  vmmDir = join(dir, 'remotes', 'vmm', 'xcd');
  install(
    [[join(INTEGRATIONS, 'opennebula', 'remotes', 'vmm', 'xcd'), join(dir, 'remotes', 'vmm')]],
    vmmDir,
  );
  env = {
    XCD_URL: stack.url,
    XCD_TOKEN: stack.tokens.operator,
    XCD_CONFIG: join(dir, 'none'),
    XCD_ONE_VMS_DIR: join(dir, 'vms'),
    XCD_VNC_LISTEN: '127.0.0.1',
  };
}, 90_000);

afterAll(async () => {
  if (relay?.pid && relay.exitCode === null) {
    const exited = new Promise((resolve) => relay!.once('exit', resolve));
    process.kill(relay.pid, 'SIGTERM');
    await exited;
  }
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const cdata = (s: string | number) => `<![CDATA[${String(s)}]]>`;

/** DEPLOY as oned does it: vms/<id>/deployment.0 written (GRAPHICS included), deploy run. */
async function deploy(id: number, graphics: Record<string, string | number>) {
  const template = (await stack.request('GET', '/v1/templates')).body.items[0].name_label;
  const xml =
    `<VM><ID>${id}</ID><NAME>${cdata(`vnc-${id}`)}</NAME><STATE>3</STATE><LCM_STATE>3</LCM_STATE><TEMPLATE>` +
    `<VCPU>${cdata(1)}</VCPU><MEMORY>${cdata(256)}</MEMORY><GRAPHICS>` +
    Object.entries(graphics)
      .map(([k, v]) => `<${k}>${cdata(v)}</${k}>`)
      .join('') +
    `</GRAPHICS></TEMPLATE><USER_TEMPLATE><XCD_TEMPLATE>${cdata(template)}</XCD_TEMPLATE></USER_TEMPLATE></VM>`;
  const vmDir = join(dir, 'vms', String(id));
  mkdirSync(vmDir, { recursive: true });
  writeFileSync(join(vmDir, 'deployment.0'), xml);
  const res = await run(
    join(vmmDir, 'deploy'),
    [join(vmDir, 'deployment.0'), HOST, String(id), HOST],
    {
      env,
      stdin: Buffer.from(xml).toString('base64'),
    },
  );
  expect([res.code, res.stdout]).toEqual([0, `one-${id}\n`]);
}

/** Starts the relay and waits until it listens on every port named. */
async function startRelay(ports: number[]) {
  relay = spawn(join(vmmDir, 'xcd-vnc-relay'), [], {
    env: { PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}`, PYTHONDONTWRITEBYTECODE: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  relay.stderr!.setEncoding('utf8').on('data', (d: string) => (relayLog += d));
  for (const p of ports) await logged(`listening on 127.0.0.1:${p}\n`);
}

/** Waits until the relay has logged `line`. */
async function logged(line: string) {
  while (!relayLog.includes(line)) {
    if (relay?.exitCode !== null) throw new Error(`the relay exited: ${relayLog}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('FireEdge through the relay: GRAPHICS PASSWD checked, the VM screen reached, every time', async () => {
  const [withPassword, without] = [await freePort(), await freePort()];
  await deploy(80, { TYPE: 'VNC', LISTEN: '0.0.0.0', PORT: withPassword, PASSWD: 's3cret' });
  await deploy(81, { TYPE: 'VNC', LISTEN: '0.0.0.0', PORT: without });
  await startRelay([withPassword, without]);

  for (let i = 0; i < 2; i++) {
    // a fresh one-time console for each viewer
    const c = await connectTcp('127.0.0.1', withPassword);
    const security = await rfbSecurity(c, 's3cret');
    expect(security).toEqual({ version: 'RFB 003.008\n', securityTypes: [2], securityResult: 0 });
    const init = await rfbInit(c, security);
    expect(init).toMatchObject({ name: 'vnc-80', width: 640, height: 480 });
    expect(distinctPixels(await readFramebuffer(c, init))).toBeGreaterThan(16);
    c.close();
  }

  const wrong = await connectTcp('127.0.0.1', withPassword);
  expect(await rfbSecurity(wrong, 'guessed!')).toMatchObject({
    securityResult: 1,
    reason: 'authentication failed',
  });
  await wrong.closed;

  // a VM whose GRAPHICS has no PASSWD: security None
  const open = await connectTcp('127.0.0.1', without);
  const none = await rfbSecurity(open);
  expect(none).toEqual({ version: 'RFB 003.008\n', securityTypes: [1], securityResult: 0 });
  expect((await rfbInit(open, none)).name).toBe('vnc-81');
  open.close();
  expect(relayLog).not.toContain('s3cret');

  for (const id of [80, 81]) {
    const data = Buffer.from(
      `<VMM_DRIVER_ACTION_DATA><VM><ID>${id}</ID><LCM_STATE>13</LCM_STATE></VM></VMM_DRIVER_ACTION_DATA>`,
    );
    const res = await run(join(vmmDir, 'cancel'), [`one-${id}`, HOST, String(id), HOST], {
      env,
      stdin: data.toString('base64'),
    });
    expect(res.code).toBe(0);
  }
  // a terminated VM's port closes at the next look at the instances (its files stay)
  await logged(`closed 127.0.0.1:${withPassword}\n`);
  await logged(`closed 127.0.0.1:${without}\n`);
  await expect(connectTcp('127.0.0.1', withPassword)).rejects.toMatchObject({
    code: 'ECONNREFUSED',
  });
}, 60_000);

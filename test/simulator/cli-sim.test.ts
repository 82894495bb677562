// `xcd sim`: the command starts the simulator with its flags, prints the bound address and the
// login, and serves until stopped.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { jsonErr, jsonOk } from './rpc';

it('prints the bound address and login, and applies --hosts, --fault and --xapi-version', async () => {
  const root = path.join(__dirname, '..', '..');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'sim',
      '--listen',
      '127.0.0.1:0',
      '--hosts',
      '2',
      '--fault',
      'fail:pool.get_all:1:SR_FULL',
      '--fault',
      'latency:host.get_all:1',
      '--auth-failure-delay',
      '10',
      '--xapi-version',
      '25.27.0',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner: ${out}`)), 15000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m && out.includes('login:')) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    expect(out).toContain("login: user 'root' password 'xenroot'");
    expect(out).toContain('xapi version: 25.27.0');
    expect(out).toMatch(/pool member 1: http:\/\/127\.0\.0\.2:\d+/);
    const sid = (await jsonOk(url, 'session.login_with_password', ['root', 'xenroot'])) as string;
    expect(await jsonErr(url, 'pool.get_all', [sid])).toEqual(['SR_FULL']);
    const hosts = (await jsonOk(url, 'host.get_all', [sid])) as string[];
    expect(hosts).toHaveLength(2);
    const version = (await jsonOk(url, 'host.get_software_version', [sid, hosts[0]])) as Record<
      string,
      string
    >;
    expect(version).toMatchObject({ xapi: '25.27', xapi_build: '25.27.0' });
  } finally {
    child.kill('SIGTERM');
  }
}, 20000);

// The one caller check of the HTTP side channels: Basic credentials split at the first ':' (RFC
// 7617), and CONNECT /console taking the same credentials as the raw VDI channels (see
// vdi-transfer.test.ts for those).
import net from 'node:net';
import { startSimulator, type SimulatorHandle } from '../../../src/simulator';
import { basicCredentials } from '../../../src/simulator/wire/side-channel-auth';

const basicHeader = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`;

describe('basicCredentials', () => {
  it('splits at the first ":", so the password keeps the rest', () => {
    expect(basicCredentials(basicHeader('root:pa:ss:word'))).toEqual({
      user: 'root',
      password: 'pa:ss:word',
    });
    expect(basicCredentials(basicHeader('root:'))).toEqual({ user: 'root', password: '' });
    expect(basicCredentials(basicHeader(':secret'))).toEqual({ user: '', password: 'secret' });
    expect(basicCredentials(basicHeader('root:pässwörd'))).toEqual({
      user: 'root',
      password: 'pässwörd',
    });
  });

  it('gives nothing for another scheme, no header or no ":"', () => {
    expect(basicCredentials(undefined)).toBeUndefined();
    expect(basicCredentials('Bearer abc')).toBeUndefined();
    expect(basicCredentials(basicHeader('rootonly'))).toBeUndefined();
  });
});

describe('CONNECT /console with Basic credentials', () => {
  const PASSWORD = 'pa:ss:word';
  let sim: SimulatorHandle;

  beforeAll(async () => {
    sim = await startSimulator({ hosts: 1, password: PASSWORD, authFailureDelayMs: 10 });
  });
  afterAll(() => sim.close());

  /** The status line the simulator answers a CONNECT with; the socket is closed afterwards. */
  const connectStatus = (path: string, authorization: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const u = new URL(sim.url);
      const socket = net.connect({ host: u.hostname, port: Number(u.port) });
      let buf = '';
      socket.on('error', reject);
      socket.on('data', (c: Buffer) => {
        buf += c.toString('latin1');
        const end = buf.indexOf('\r\n');
        if (end >= 0) {
          socket.destroy();
          resolve(buf.slice(0, end));
        }
      });
      socket.write(`CONNECT ${path} HTTP/1.0\r\nAuthorization: ${authorization}\r\n\r\n`);
    });

  const runningVmRef = (): string => {
    for (const [vmRef, vmRec] of sim.store.all('VM'))
      if (vmRec.power_state === 'Running' && !vmRec.is_control_domain) return vmRef;
    throw new Error('no running VM');
  };

  it('accepts a password with ":" and refuses its prefix', async () => {
    const path = `/console?ref=${runningVmRef()}`;
    expect(await connectStatus(path, basicHeader(`root:${PASSWORD}`))).toBe('HTTP/1.1 200 OK');
    expect(await connectStatus(path, basicHeader('root:pa'))).toMatch(/^HTTP\/1\.1 401 /);
  });
});

// The proxy's RFB pieces on in-memory streams: DES against FIPS 46's worked example and VNC
// Authentication against noVNC's own DES (a peer implementation); the client side towards a XAPI
// host's console speaking RFB 3.3 (security chosen by the server, as XAPI's console may), 3.7 and
// 3.8, and refusing a console that asks for a password; the server side refusing a client that
// picks another security type, and a wrong VNC password, with the reason 3.8 carries.
import { Duplex, PassThrough } from 'node:stream';
import { desEncryptBlock, vncAuthResponse } from '../../../src/driver/console-proxy/des';
import {
  ByteReader,
  clientHandshake,
  serveHandshake,
  vncResponseMatches,
} from '../../../src/driver/console-proxy/rfb';
import { novncDesResponse } from '../../helpers/rfb-client';

/** Two connected duplex ends. */
function pair(): [Duplex, Duplex] {
  const ab = new PassThrough();
  const ba = new PassThrough();
  const a = Duplex.from({ readable: ba, writable: ab });
  const b = Duplex.from({ readable: ab, writable: ba });
  return [a, b];
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};

function serverInit(name: string): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt16BE(640, 0);
  head.writeUInt16BE(480, 2);
  head[4] = 32;
  head.writeUInt32BE(name.length, 20);
  return Buffer.concat([head, Buffer.from(name)]);
}

test('DES encrypts FIPS 46-3 worked example', () => {
  expect(
    desEncryptBlock(Buffer.from('133457799BBCDFF1', 'hex'), Buffer.from('0123456789ABCDEF', 'hex')),
  ).toEqual(Buffer.from('85E813540F0AB405', 'hex'));
});

test.each(['Ab3xY9qZ', 'pass', 'longer-than-eight'])(
  'the VNC response for %j is what noVNC computes',
  (password) => {
    const challenge = Buffer.from([...Array(16).keys()].map((i) => (i * 37 + 11) & 0xff));
    const ours = vncAuthResponse(password, challenge);
    expect(ours).toEqual(novncDesResponse(password.slice(0, 8), challenge));
    expect(vncResponseMatches(password, challenge, ours)).toBe(true);
    expect(vncResponseMatches('other', challenge, ours)).toBe(false);
  },
);

describe('client side towards the host console', () => {
  it.each([3, 7, 8])(
    'takes RFB 3.%i with security None and returns ServerInit whole',
    async (minor) => {
      const [proxy, host] = pair();
      const hostReader = new ByteReader(host);
      const done = clientHandshake(proxy, new ByteReader(proxy));
      host.write(`RFB 003.00${minor}\n`);
      expect((await hostReader.read(12)).toString()).toBe(`RFB 003.00${minor}\n`);
      if (minor === 3) host.write(u32(1));
      else {
        host.write(Buffer.from([2, 2, 1])); // VNC Authentication, None
        expect([...(await hostReader.read(1))]).toEqual([1]);
        if (minor === 8) host.write(u32(0));
      }
      expect([...(await hostReader.read(1))]).toEqual([1]); // ClientInit: shared
      host.write(serverInit('vm-a'));
      expect(await done).toEqual(serverInit('vm-a'));
    },
  );

  it('refuses a host console that asks for a password, and says why a 3.3 one failed', async () => {
    const [proxy, host] = pair();
    const done = clientHandshake(proxy, new ByteReader(proxy));
    host.write('RFB 003.003\n');
    host.write(u32(2));
    await expect(done).rejects.toThrow(/asks for security 2/);

    const [proxy2, host2] = pair();
    const failed = clientHandshake(proxy2, new ByteReader(proxy2));
    host2.write(Buffer.concat([Buffer.from('RFB 003.003\n'), u32(0), u32(4), Buffer.from('busy')]));
    await expect(failed).rejects.toThrow(/refused: busy/);
  });
});

describe('server side towards the console client', () => {
  it('fails the SecurityResult with a reason for a wrong VNC password, and never accepts', async () => {
    const [server, client] = pair();
    const reader = new ByteReader(client);
    const accept = jest.fn(async () => serverInit('x'));
    const done = serveHandshake(
      server,
      new ByteReader(server),
      { type: 'vnc', verify: (ch, resp) => vncResponseMatches('right', ch, resp) },
      accept,
    );
    expect((await reader.read(12)).toString()).toBe('RFB 003.008\n');
    client.write('RFB 003.008\n');
    expect([...(await reader.read(2))]).toEqual([1, 2]);
    client.write(Buffer.from([2]));
    const challenge = await reader.read(16);
    client.write(vncAuthResponse('wrong', challenge));
    await expect(done).rejects.toThrow('authentication failed');
    expect((await reader.read(4)).readUInt32BE(0)).toBe(1);
    const len = (await reader.read(4)).readUInt32BE(0);
    expect((await reader.read(len)).toString()).toBe('authentication failed');
    expect(accept).not.toHaveBeenCalled();
  });

  it('refuses a client that picks a security type not offered', async () => {
    const [server, client] = pair();
    const reader = new ByteReader(client);
    const done = serveHandshake(server, new ByteReader(server), { type: 'none' }, async () =>
      serverInit('x'),
    );
    await reader.read(12);
    client.write('RFB 003.008\n');
    await reader.read(2);
    client.write(Buffer.from([2]));
    await expect(done).rejects.toThrow(/not offered/);
  });

  it('speaks 3.3 to an old client: the server picks None, no SecurityResult', async () => {
    const [server, client] = pair();
    const reader = new ByteReader(client);
    const done = serveHandshake(server, new ByteReader(server), { type: 'none' }, async () =>
      serverInit('old'),
    );
    await reader.read(12);
    client.write('RFB 003.003\n');
    expect((await reader.read(4)).readUInt32BE(0)).toBe(1);
    client.write(Buffer.from([1]));
    await done;
    expect(await reader.read(serverInit('old').length)).toEqual(serverInit('old'));
  });
});

// Helpers for the VDI content tests: VDI.create fields, streaming PUT/GET of files through the
// side channels, the task a transfer reported on, and qemu-img (Debian's qemu-utils) to make and
// check real images. No assertions live here.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { SimulatorHandle } from '../../../src/simulator';
import { jsonOk } from '../rpc';

export const MIB = 1024 * 1024;

export function vdiFields(srRef: string, size: number): Record<string, unknown> {
  return {
    SR: srRef,
    name_label: 'content test',
    name_description: '',
    virtual_size: String(size),
    type: 'user',
    sharable: false,
    read_only: false,
    other_config: {},
    xenstore_data: {},
    sm_config: {},
    tags: [],
  };
}

/** A user SR of the seeded pool with room for `size` bytes. */
export function userSr(sim: SimulatorHandle, size: number): string {
  const found = [...sim.store.all('SR').entries()].find(
    ([, r]) =>
      r.content_type === 'user' && Number(r.physical_size) - Number(r.physical_utilisation) > size,
  );
  if (!found) throw new Error('no SR with room');
  return found[0];
}

export async function newVdi(sim: SimulatorHandle, sid: string, size: number): Promise<string> {
  return (await jsonOk(sim.url, 'VDI.create', [sid, vdiFields(userSr(sim, size), size)])) as string;
}

export interface Transfer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** PUT `body` (a Buffer, or a file streamed with its length) to `path`. */
export function put(
  sim: SimulatorHandle,
  path: string,
  body: Buffer | { file: string },
  headers: Record<string, string | number> = {},
): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const u = new URL(sim.url);
    const length = Buffer.isBuffer(body) ? body.length : fs.statSync(body.file).size;
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path,
        method: 'PUT',
        agent: false,
        headers: { 'content-length': length, ...headers },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (p: Buffer) => parts.push(p));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (Buffer.isBuffer(body)) req.end(body);
    else fs.createReadStream(body.file).pipe(req);
  });
}

/** GET `path` into `file`; answers the status and headers. */
export function getToFile(
  sim: SimulatorHandle,
  path: string,
  file: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; size: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${sim.url}${path}`, { agent: false }, (res) => {
        const out = fs.createWriteStream(file);
        res.pipe(out);
        out.on('finish', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            size: fs.statSync(file).size,
          }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** The task record a transfer named in its task-id header. */
export function taskOf(sim: SimulatorHandle, t: { headers: http.IncomingHttpHeaders }) {
  const ref = t.headers['task-id'] as string;
  return sim.store.get('task', ref);
}

export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8' });
}

/** True when qemu-img compare finds the images identical (`fmt` of a, raw b). */
export function sameContent(a: string, fmt: string, b: string): boolean {
  try {
    execFileSync('qemu-img', ['compare', '-q', '-f', fmt, '-F', 'raw', a, b]);
    return true;
  } catch {
    return false;
  }
}

/** A raw image of `size` bytes holding random data at each `[offset, length]`. */
export function rawWithData(file: string, size: number, pieces: [number, number][]): void {
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, size);
  let seed = 1;
  for (const [offset, length] of pieces) {
    const b = Buffer.alloc(length);
    for (let i = 0; i < length; i += 4) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      b.writeUInt32LE(seed, i);
    }
    fs.writeSync(fd, b, 0, length, offset);
  }
  fs.closeSync(fd);
}

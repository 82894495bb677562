// Reading a disk's bytes in tests: the first bytes of a VDI as XAPI's /export_raw_vdi streams
// them (the simulator's or a pool's), the rest of the stream left unread. Knows no route.
import type { XapiClient } from '../../src/xapi';

/** The first `length` bytes of the VDI, exported raw. */
export async function vdiHead(xapi: XapiClient, vdiRef: string, length: number): Promise<Buffer> {
  const { stream } = await xapi.httpGetStream('/export_raw_vdi', { vdi: vdiRef, format: 'raw' });
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    chunks.push(c);
    got += c.length;
    if (got >= length) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, length);
}

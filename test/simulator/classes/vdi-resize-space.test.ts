// VDI.resize and VDI.resize_online take SR space on every SR type, as VDI.create does: the
// growth must fit in the SR's free space (SR_FULL [bytes asked, bytes free], nothing changed
// otherwise) and moves the VDI's physical_utilisation and the SR's physical_utilisation and
// virtual_allocation. Over JSON-RPC against a running simulator.
import { expectFault, openSim, type SimFixture } from '../../helpers/xapi-rpc';

const GIB = 1024 ** 3;
const TIB = 1024 * GIB;
let f: SimFixture;
let nfsSr: string;

beforeAll(async () => {
  f = await openSim();
  nfsSr = (await f.rpc.call('SR.get_by_name_label', 'NFS storage'))[0];
});
afterAll(async () => {
  await f.sim.close();
});

async function newVdi(size: number): Promise<string> {
  return f.rpc.call('VDI.create', {
    SR: nfsSr,
    virtual_size: size,
    type: 'user',
    sharable: false,
    read_only: false,
    other_config: {},
    name_label: 'grow-me',
  });
}

const figures = async (vdi: string): Promise<Record<string, number>> => {
  const sr = await f.rpc.call('SR.get_record', nfsSr);
  const rec = await f.rpc.call('VDI.get_record', vdi);
  return {
    virtual_size: rec.virtual_size,
    vdi_physical: rec.physical_utilisation,
    sr_physical: sr.physical_utilisation,
    sr_virtual: sr.virtual_allocation,
    sr_free: sr.physical_size - sr.physical_utilisation,
  };
};

test.each(['VDI.resize', 'VDI.resize_online'])(
  'a disk can grow to 64 TiB on a 4 TiB SR (SR space not accounted on resize): %s now fails with SR_FULL',
  async (method) => {
    const { rpc } = f;
    expect((await rpc.call('SR.get_record', nfsSr)).physical_size).toBe(4 * TIB);
    const vdi = await newVdi(GIB);
    const before = await figures(vdi);
    await expectFault(rpc.call(method, vdi, 64 * TIB), 'SR_FULL', [
      String(64 * TIB - GIB),
      String(before.sr_free),
    ]);
    expect(await figures(vdi)).toEqual(before);
    await rpc.call('VDI.destroy', vdi);
  },
);

test.each(['VDI.resize', 'VDI.resize_online'])(
  '%s on a thin (nfs) SR charges the growth to the VDI and the SR',
  async (method) => {
    const { rpc } = f;
    const vdi = await newVdi(GIB);
    const before = await figures(vdi);
    await rpc.call(method, vdi, 3 * GIB);
    expect(await figures(vdi)).toEqual({
      virtual_size: 3 * GIB,
      vdi_physical: before.vdi_physical + 2 * GIB,
      sr_physical: before.sr_physical + 2 * GIB,
      sr_virtual: before.sr_virtual + 2 * GIB,
      sr_free: before.sr_free - 2 * GIB,
    });
    // Up to the last free byte, and not one more.
    const free = (await figures(vdi)).sr_free;
    await expectFault(rpc.call(method, vdi, 3 * GIB + free + 1), 'SR_FULL', [
      String(free + 1),
      String(free),
    ]);
    await rpc.call(method, vdi, 3 * GIB + free);
    expect((await figures(vdi)).sr_free).toBe(0);
    // Destroying the disk gives everything back.
    await rpc.call('VDI.destroy', vdi);
    const sr = await rpc.call('SR.get_record', nfsSr);
    expect([sr.physical_utilisation, sr.virtual_allocation]).toEqual([
      before.sr_physical - before.vdi_physical,
      before.sr_virtual - before.virtual_size,
    ]);
  },
);

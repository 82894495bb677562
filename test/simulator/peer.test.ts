// The real peer: Xen Orchestra's `xen-api` client (ESM, so run as a child process) connects to
// the simulator over JSON-RPC and XML-RPC, fills its cache through event.from, decodes xapi
// errors as from a real host, and drives a VM through start, snapshot and stop.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startSimulator, type SimulatorHandle } from '../../src/simulator';
import { hasExplicitMessage } from '../../src/simulator/engine/registry';

let sim: SimulatorHandle;
const script = path.join(__dirname, 'peer', 'xen-api-peer.mjs');

function runPeer(transport: string, vm: boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const args = [script, sim.url, sim.user, sim.password, transport, ...(vm ? ['--vm'] : [])];
    execFile(process.execPath, args, { timeout: 25000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        const report = JSON.parse(line) as Record<string, unknown>;
        if (report.error) reject(new Error(`${String(report.error)}\n${stderr}`));
        else resolve(report);
      } catch {
        reject(err ?? new Error(`peer said: ${stdout} ${stderr}`));
      }
    });
  });
}

beforeAll(async () => {
  sim = await startSimulator({ authFailureDelayMs: 10, timeScale: 0.1 });
});
afterAll(() => sim.close());

describe.each(['json-rpc', 'xml-rpc'])('xen-api over %s', (transport) => {
  it('connects, fills its cache, decodes errors and drives a VM', async () => {
    // the VM steps need the lifecycle rules (VM.start and friends)
    const vm =
      hasExplicitMessage('VM.start') &&
      hasExplicitMessage('VM.snapshot') &&
      hasExplicitMessage('VM.clean_shutdown');
    const report = await runPeer(transport, vm);
    expect(report.cachedVms).toBe(report.serverVms);
    expect(report.cachedHosts).toBe(3);
    expect(report.handleInvalid).toEqual({
      code: 'HANDLE_INVALID',
      params: ['VM', 'OpaqueRef:no-such-vm'],
      isArray: true,
    });
    expect(report.unknown).toEqual({
      code: 'MESSAGE_METHOD_UNKNOWN',
      params: ['VM.no_such_message'],
    });
    expect(report.steps).toEqual(
      expect.arrayContaining([
        'connected',
        'cache filled',
        'errors decoded',
        'event received',
        'disconnected',
      ]),
    );
    if (vm) {
      expect(report.steps).toEqual(
        expect.arrayContaining(['VM started', 'VM snapshotted', 'VM stopped']),
      );
      expect(report.snapshot).toEqual({ isSnapshot: true, of: true });
      expect((report.badPower as { code: string }).code).toBe('VM_BAD_POWER_STATE');
    }
  }, 30000);
});

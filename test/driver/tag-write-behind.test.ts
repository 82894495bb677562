// The xcd_operation tag of power actions, written behind their answer: back-to-back power actions
// make only their power calls and the tag ends with the newest one; another operation of the
// instance and a restart of the driver find the last power action's tag already written.
// Only observes the driver's public surface and the simulator's store.
import { TAG } from '../../src/driver/tags';
import {
  alice,
  provisioningTemplate,
  settle,
  startDriverStack,
  vmOf,
  type DriverStack,
} from './stack';

describe('driver power-action tag written behind', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function spawnRunning(id: string): Promise<string> {
    const { operation } = stack.driver.spawn(alice, id, {
      template: provisioningTemplate(stack),
      vcpus: 1,
      memory_mb: 256,
    } as any);
    const done = await settle(stack, alice, operation);
    expect(done.error).toBeNull();
    return stack.driver.getInstance(alice, id).uuid;
  }

  // Absent for a moment while the tag is rewritten (remove, then add).
  const tagOf = (uuid: string): { id?: string; status?: string } =>
    JSON.parse(vmOf(stack, uuid).other_config[TAG.operation] ?? '{}');

  it('back-to-back power actions make only their power calls; the tag ends with the newest', async () => {
    const uuid = await spawnRunning('tw-cycle');
    stack.calls.length = 0;
    const off = await settle(
      stack,
      alice,
      stack.driver.action(alice, 'tw-cycle', { action: 'power-off', type: 'hard' } as any),
    );
    const on = await settle(
      stack,
      alice,
      stack.driver.action(alice, 'tw-cycle', { action: 'power-on' } as any),
    );
    expect([off.status, on.status]).toEqual(['succeeded', 'succeeded']);
    expect(stack.calls).toEqual(['VM.hard_shutdown', 'VM.start']);
    const deadline = Date.now() + 5000;
    while (tagOf(uuid).id !== on.id && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(tagOf(uuid)).toMatchObject({ id: on.id, status: 'succeeded' });
    expect(stack.calls.filter((c) => c === 'VM.add_to_other_config')).toHaveLength(1);
  });

  it('another operation of the instance starts only once the pending tag is written', async () => {
    await spawnRunning('tw-then-destroy');
    stack.calls.length = 0;
    const off = await settle(
      stack,
      alice,
      stack.driver.action(alice, 'tw-then-destroy', { action: 'power-off', type: 'hard' } as any),
    );
    expect(off.status).toBe('succeeded');
    const destroy = stack.driver.destroy(alice, 'tw-then-destroy', {});
    expect(destroy).not.toBeNull();
    expect((await settle(stack, alice, destroy!)).status).toBe('succeeded');
    // The power-off's tag write, flushed at once, comes before any call of the destroy.
    expect(stack.calls.slice(0, 3)).toEqual([
      'VM.hard_shutdown',
      'VM.remove_from_other_config',
      'VM.add_to_other_config',
    ]);
  });

  it('a driver restart finds the last power action in the tag', async () => {
    await spawnRunning('tw-restart');
    const off = await settle(
      stack,
      alice,
      stack.driver.action(alice, 'tw-restart', { action: 'power-off', type: 'hard' } as any),
    );
    await stack.restartDriver();
    expect(stack.driver.getOperation(alice, off.id)).toMatchObject({
      id: off.id,
      status: 'succeeded',
    });
  });
});

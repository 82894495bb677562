// Behaviour of pause, unpause, suspend and resume through the driver: each action from every
// XAPI power state (allowed ones succeed and the mirror shows the new state; the others answer
// 409 invalid_power_state with XAPI's states, before any XAPI call), and a viewer's 403.
import type { InstanceAction } from '../../src/driver/types';
import {
  POWER_STATES,
  done,
  setState,
  simVm,
  spawnInstance,
  type PowerState,
} from './instance-helpers';
import { alice, aliceViewer, startDriverStack, type DriverStack } from './stack';

describe('pause, unpause, suspend, resume', () => {
  let stack: DriverStack;
  let vmRef: string;
  beforeAll(async () => {
    stack = await startDriverStack();
    vmRef = await spawnInstance(stack, 'life-1', { power_on: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const actions: Array<[InstanceAction['action'], PowerState[], PowerState]> = [
    ['pause', ['Running'], 'Paused'],
    ['unpause', ['Paused'], 'Running'],
    ['suspend', ['Running'], 'Suspended'],
    ['resume', ['Suspended'], 'Running'],
  ];
  const cases = actions.flatMap(([action, allowed, end]) =>
    POWER_STATES.map((from) => [action, from, allowed.includes(from), end, allowed] as const),
  );

  it.each(cases)('%s from %s', async (action, from, allowed, end, allowedStates) => {
    await setState(stack, vmRef, from);
    const body = { action } as InstanceAction;
    if (!allowed) {
      let err: any;
      try {
        stack.driver.action(alice, 'life-1', body);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ status: 409, code: 'invalid_power_state' });
      expect(err.toJSON()).toMatchObject({
        expected_power_states: allowedStates.map((s) => s.toLowerCase()),
        actual_power_state: from.toLowerCase(),
        xapi_error: { code: 'VM_BAD_POWER_STATE' },
      });
      expect(simVm(stack, vmRef).power_state).toBe(from);
      return;
    }
    const op = stack.driver.action(alice, 'life-1', body);
    expect(op).toMatchObject({ kind: action, instance_id: 'life-1', status: 'running' });
    const final = await done(stack, op);
    expect(final.error).toBeNull();
    expect(final.status).toBe('succeeded');
    expect(final.result).toMatchObject({ xapi_power_state: end });
    expect(simVm(stack, vmRef).power_state).toBe(end);
    expect(stack.driver.getInstance(alice, 'life-1').xapi_power_state).toBe(end);
  });

  it('fails the operation with XAPI states when the power state changed after the request', async () => {
    await setState(stack, vmRef, 'Running');
    const first = stack.driver.action(alice, 'life-1', { action: 'suspend' });
    // Queued behind the suspend: the mirror still says Running, so XAPI answers.
    const second = stack.driver.action(alice, 'life-1', { action: 'pause' });
    expect((await done(stack, first)).status).toBe('succeeded');
    const failed = await done(stack, second);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { status: 409, code: 'invalid_power_state', actual_power_state: 'suspended' },
    });
  });

  it('refuses viewers and unknown instances', () => {
    expect(() => stack.driver.action(aliceViewer, 'life-1', { action: 'pause' })).toThrow(
      expect.objectContaining({ status: 403 }),
    );
    expect(() => stack.driver.action(alice, 'nope', { action: 'pause' })).toThrow(
      expect.objectContaining({ status: 404, code: 'instance_not_found' }),
    );
    expect(() =>
      stack.driver.action({ ...alice, namespace: 'bob' }, 'life-1', { action: 'pause' }),
    ).toThrow(expect.objectContaining({ status: 404 }));
  });
});

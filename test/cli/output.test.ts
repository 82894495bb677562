// The progress bar of long operations: on a terminal, following a spawn draws a bar on stderr
// that ends at 100% with the operation's outcome; off a terminal (or with --json) it draws none.
import { XcdClient } from '../../src/client';
import { followOperation } from '../../src/cli/output';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let client: XcdClient;

beforeAll(async () => {
  stack = await startStack({ sim: { timeScale: 0.05 } });
  client = new XcdClient({ url: stack.url, token: stack.tokens.operator });
});
afterAll(async () => {
  await stack?.close();
});

async function follow(id: string, tty: boolean, json: boolean): Promise<[string, string]> {
  const template = (await client.templates())[0].name_label;
  const op = await client.spawn(id, { template, power_on: true });
  let stderr = '';
  const saved = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
  Object.defineProperty(process.stderr, 'isTTY', { value: tty, configurable: true });
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    stderr += String(c);
    return true;
  });
  try {
    const done = await followOperation(client, op, { json });
    return [done.status, stderr];
  } finally {
    spy.mockRestore();
    if (saved) Object.defineProperty(process.stderr, 'isTTY', saved);
    else delete (process.stderr as { isTTY?: boolean }).isTTY;
  }
}

test('on a terminal the bar follows the operation to 100%', async () => {
  const [status, stderr] = await follow('bar-1', true, false);
  expect(status).toBe('succeeded');
  expect(stderr).toContain('spawn bar-1 [');
  expect(stderr).toContain('100%');
});

test('with --json or off a terminal there is no bar', async () => {
  expect(await follow('bar-2', true, true)).toEqual(['succeeded', '']);
  expect(await follow('bar-3', false, false)).toEqual(['succeeded', '']);
});

// Calls through the native client over both protocols: datamodel-typed results (ints, floats,
// datetimes, maps, records), arguments of every type, concurrency, and argument validation.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SimulatorHandle } from '../../src/simulator';
import type { XapiClient } from '../../src/xapi';
import { PROTOCOLS, closeAll, connect, sim } from './fixtures';

let s: SimulatorHandle;
beforeAll(async () => {
  s = await sim();
});
afterAll(async () => {
  await closeAll();
  await s.close();
});

describe.each(PROTOCOLS)('calls over %s', (protocol) => {
  let c: XapiClient;
  beforeAll(async () => {
    c = await connect(s, { protocol, mirror: ['VM'] });
  });

  test('results are typed by the datamodel', async () => {
    const vmRef = c.mirror.query('VM', {
      where: { is_a_template: false, is_control_domain: false },
      limit: 1,
    })[0].$ref;
    const rec = await c.call<Record<string, unknown>>('VM.get_record', vmRef);
    expect(typeof rec.memory_static_max).toBe('number');
    expect(typeof rec.HVM_shadow_multiplier).toBe('number');
    expect(typeof rec.is_a_template).toBe('boolean');
    expect(Array.isArray(rec.VBDs)).toBe(true);
    expect(typeof rec.other_config).toBe('object');
    const max = await c.call<number>('VM.get_memory_static_max', vmRef);
    expect(max).toBe(rec.memory_static_max);
    const metricsRef = rec.metrics as string;
    const started = await c.call<Date>('VM_metrics.get_start_time', metricsRef);
    // Dates come from the addon's realm (jest runs tests in another one): check the tag.
    expect(Object.prototype.toString.call(started)).toBe('[object Date]');
    const all = await c.call<Record<string, Record<string, unknown>>>('host.get_all_records');
    for (const h of Object.values(all)) expect(typeof h.memory_overhead).toBe('number');
  });

  test('arguments of each type go out and come back', async () => {
    const vmRef = c.mirror.query('VM', {
      where: { is_a_template: false, is_control_domain: false },
      limit: 1,
    })[0].$ref;
    const key = `xcd-${protocol}`;
    const text = 'caf\u00e9 <&> "q" \u2603';
    await c.call('VM.set_name_description', vmRef, text);
    expect(await c.call('VM.get_name_description', vmRef)).toBe(text);
    await c.call('VM.set_xenstore_data', vmRef, { [key]: text, empty: '' });
    expect(await c.call('VM.get_xenstore_data', vmRef)).toEqual({ [key]: text, empty: '' });
    await c.call('VM.set_name_description', vmRef, '');
    expect(await c.call('VM.get_name_description', vmRef)).toBe('');
    await c.call('VM.set_user_version', vmRef, 7);
    expect(await c.call('VM.get_user_version', vmRef)).toBe(7);
    await c.call('VM.set_tags', vmRef, ['a', 'b']);
    expect(await c.call('VM.get_tags', vmRef)).toEqual(['a', 'b']);
    await c.call('VM.set_tags', vmRef, []);
    expect(await c.call('VM.get_tags', vmRef)).toEqual([]);
    await c.call('VM.set_HVM_shadow_multiplier', vmRef, 2.5).catch(() => undefined);
  });

  test('many concurrent calls share the session and all resolve', async () => {
    const refs = await c.call<string[]>('VM.get_all');
    const names = await Promise.all(refs.map((r) => c.call<string>('VM.get_name_label', r)));
    expect(names).toHaveLength(refs.length);
    for (const n of names) expect(typeof n).toBe('string');
  });
});

describe('argument validation at the edge', () => {
  let c: XapiClient;
  beforeAll(async () => {
    c = await connect(s, { mirror: false });
  });
  test.each([[''], ['VM'], ['VM.'], ['.start'], [42], ['VM.start; rm']])(
    'rejects method %p',
    async (m) => {
      await expect(c.call(m as string)).rejects.toBeInstanceOf(TypeError);
    },
  );
  test('session.* and Async.* are reserved', async () => {
    await expect(c.call('session.logout')).rejects.toThrow(/managed by the client/);
    await expect(c.call('Async.VM.start')).rejects.toThrow(/callAsync/);
  });
  test('values XAPI cannot carry are refused before the call', async () => {
    await expect(c.call('VM.get_record', Symbol('x'))).rejects.toBeInstanceOf(TypeError);
  });
});

/** An HTTP relay in front of the simulator that counts the requests it has in flight. */
async function countingRelay(target: string): Promise<{
  url: string;
  maxInFlight: () => number;
  close: () => Promise<void>;
}> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let inFlight = 0;
  let max = 0;
  const server = http.createServer((req, res) => {
    inFlight++;
    max = Math.max(max, inFlight);
    const out = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => inFlight--);
      },
    );
    out.on('error', () => {
      inFlight--;
      res.destroy();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    maxInFlight: () => max,
    close: async () => {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// Each client runs its calls on threads of its own: stalled XAPI calls hold none of libuv's
// threadpool (4 threads by default), so fs, dns and crypto stay responsive and calls are not
// capped at 4 in flight. Asserted by order and by counting, never by the clock.
test('stalled calls leave the libuv threadpool free and run more than 4 at once', async () => {
  const relay = await countingRelay(s.url);
  const c = await connect(s, { mirror: false, url: relay.url });
  s.faults.add('latency:pool.get_all:3000');
  try {
    let settled = 0;
    const calls = Array.from({ length: 8 }, () => c.call('pool.get_all').finally(() => settled++));
    // All 8 reach XAPI together (with 4 threads, 4 would wait for the first 4 to end).
    const deadline = Date.now() + 20_000;
    while (relay.maxInFlight() < 8 && settled === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(relay.maxInFlight()).toBeGreaterThanOrEqual(8);
    // The threadpool answers while every call is stalled.
    await new Promise((resolve, reject) =>
      crypto.pbkdf2('x', 'y', 1, 32, 'sha256', (e) => (e ? reject(e) : resolve(undefined))),
    );
    expect(settled).toBe(0);
    await Promise.all(calls);
  } finally {
    s.faults.clear();
    await c.close();
    await relay.close();
  }
});

// The integrations' shared client (integrations/common/xcd_rest.py) against a loopback server
// that plays a service starting up: `503 not_ready` is waited out after its Retry-After and the
// same request sent again; any other refusal, a 503 of another code included, is raised at once.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import { PYTHON, SHARED_CLIENT } from './orchestrator';

let server: Server;
let url: string;
let script: Array<{ status: number; code?: string }> = [];
const seen: Array<{ method: string; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', body });
      const next = script.shift() ?? { status: 200 };
      if (next.status === 200) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true }));
        return;
      }
      res.writeHead(next.status, {
        'content-type': 'application/problem+json',
        'retry-after': '1',
      });
      res.end(JSON.stringify({ status: next.status, code: next.code, title: 'refused' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  url = `http://127.0.0.1:${addr.port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** Runs one request through the shared client; prints the answer or the error's code. */
function call(method: string, body?: unknown): Promise<string> {
  const program = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(dirname(SHARED_CLIENT))})`,
    'import xcd_rest',
    `c = xcd_rest.Client(${JSON.stringify(url)}, 'tok')`,
    'try:',
    `    print(json.dumps(c.request(${JSON.stringify(method)}, '/v1/x', body=json.loads(sys.argv[1]))))`,
    'except xcd_rest.ServiceError as e:',
    "    print('error', e.status, e.code)",
  ].join('\n');
  return new Promise((resolve, reject) =>
    execFile(PYTHON, ['-c', program, JSON.stringify(body ?? null)], (err, out) =>
      err ? reject(err) : resolve(out.trim()),
    ),
  );
}

beforeEach(() => {
  seen.length = 0;
});

test('waits out 503 not_ready and sends the same request again', async () => {
  script = [
    { status: 503, code: 'not_ready' },
    { status: 503, code: 'not_ready' },
  ];
  expect(await call('PUT', { vcpus: 1 })).toBe('[200, {"ok": true}]');
  expect(seen).toEqual(Array(3).fill({ method: 'PUT', body: '{"vcpus": 1}' }));
});

test('raises other refusals at once, a 503 of another code included', async () => {
  script = [{ status: 503, code: 'xapi_unavailable' }];
  expect(await call('GET')).toBe('error 503 xapi_unavailable');
  script = [{ status: 409, code: 'instance_busy' }];
  expect(await call('POST', { action: 'reboot' })).toBe('error 409 instance_busy');
  expect(seen.length).toBe(2);
});

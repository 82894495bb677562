// The REST calls the benchmarks make, and listen() for the servers they start: one keep-alive
// http.request client (an orchestrator's connection, lighter than fetch, so the client's own
// cost is not counted as the service's). Throws on an answer other than the expected status.
// Knows nothing of a benchmark's rows.
import http from 'node:http';

export interface RestAnswer {
  status: number;
  json: any;
  text: string;
}

export class RestClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly target: URL;

  constructor(
    baseUrl: string,
    private readonly token: string,
  ) {
    this.target = new URL(baseUrl);
  }

  /** One call with `Prefer: wait=120` (operations answer when final). */
  send(method: string, path: string, body?: unknown): Promise<RestAnswer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {
      authorization: `Bearer ${this.token}`,
      prefer: 'wait=120',
    };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.target.hostname,
          port: this.target.port,
          method,
          path,
          headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, text, json: text ? JSON.parse(text) : null });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A call whose operation must have succeeded (200, status succeeded). */
  async succeed(method: string, path: string, body?: unknown): Promise<any> {
    const a = await this.send(method, path, body);
    if (a.status !== 200 || a.json?.status !== 'succeeded')
      throw new Error(`${method} ${path}: ${a.status} ${a.text}`);
    return a.json;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Listens on a free loopback port; answers the base URL. */
export async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

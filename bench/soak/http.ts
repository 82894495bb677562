// The soak's HTTP side: one keep-alive agent shared by every simulated client, a request helper
// that never throws (a transport failure is an answer with status 0 and the socket error code),
// and the tally of what the service answered (per op, per status, per problem code, latency).
// Knows nothing of instances or of what a client believes.
import http from 'node:http';

export interface Answer {
  status: number; // 0: no HTTP answer (transport error or timeout)
  body: any;
  ms: number;
  /** Socket error code (ECONNREFUSED, ECONNRESET, ETIMEDOUT ...) when status is 0. */
  transport?: string;
}

export interface SendOptions {
  body?: unknown;
  /** Prefer: wait=N, in seconds. */
  wait?: number;
  timeoutMs?: number;
}

export class SoakHttp {
  private readonly agent: http.Agent;
  private readonly target: URL;

  constructor(baseUrl: string, maxSockets: number) {
    this.target = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  send(
    method: string,
    path: string,
    token: string | undefined,
    o: SendOptions = {},
  ): Promise<Answer> {
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    const headers: Record<string, string | number> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (o.wait !== undefined) headers.prefer = `wait=${o.wait}`;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    const t0 = process.hrtime.bigint();
    const ms = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
    return new Promise<Answer>((resolve) => {
      const req = http.request(
        {
          host: this.target.hostname,
          port: this.target.port,
          method,
          path,
          headers,
          agent: this.agent,
          timeout: o.timeoutMs ?? ((o.wait ?? 0) + 30) * 1000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: any;
            try {
              body = text ? JSON.parse(text) : null;
            } catch {
              body = { unparsed: text.slice(0, 200) };
            }
            resolve({ status: res.statusCode ?? 0, body, ms: ms() });
          });
          res.on('error', (err: NodeJS.ErrnoException) =>
            resolve({ status: 0, body: null, ms: ms(), transport: err.code ?? err.message }),
          );
        },
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
      );
      req.on('error', (err: NodeJS.ErrnoException) =>
        resolve({ status: 0, body: null, ms: ms(), transport: err.code ?? err.message }),
      );
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface Sample {
  label: string;
  path: string;
  status: number;
  code?: string;
  detail?: string;
}

/** What the service answered during the run, by operation label. */
export class Tally {
  readonly byLabel = new Map<string, number>();
  readonly byStatus = new Map<number, number>();
  /** `label status code` for every answer that is not 2xx (code: problem code or socket error). */
  readonly failures = new Map<string, number>();
  readonly serverErrors: Sample[] = [];
  serverErrorCount = 0;
  requests = 0;
  private readonly latencies: number[] = [];

  record(label: string, path: string, a: Answer): void {
    this.requests++;
    bump(this.byLabel, label);
    bump(this.byStatus, a.status);
    if (a.status !== 0) this.latencies.push(a.ms);
    if (a.status >= 200 && a.status < 300) return;
    const code = a.status === 0 ? a.transport : (a.body?.code as string | undefined);
    bump(this.failures, `${label} ${a.status || 'transport'} ${code ?? '-'}`);
    if (a.status >= 500) {
      this.serverErrorCount++;
      if (this.serverErrors.length < 40)
        this.serverErrors.push({
          label,
          path,
          status: a.status,
          code,
          detail: typeof a.body?.detail === 'string' ? a.body.detail.slice(0, 200) : undefined,
        });
    }
  }

  /** Operations that ended failed, by `kind [from power state]: code`. */
  readonly operationFailures = new Map<string, number>();
  /** One error detail per key of operationFailures. */
  readonly operationFailureDetail = new Map<string, string>();

  operationFailed(kind: string, from?: string, code?: string, detail?: string): void {
    const key = `${kind}${from ? ` from ${from}` : ''}: ${code ?? '-'}`;
    bump(this.operationFailures, key);
    if (detail && !this.operationFailureDetail.has(key))
      this.operationFailureDetail.set(key, detail);
  }

  percentile(p: number): number {
    const s = [...this.latencies].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * p))] : NaN;
  }
}

export function bump<K>(m: Map<K, number>, k: K, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

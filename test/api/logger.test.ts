// Regression: a token given in XCD_TOKEN reached stdout, where the JSON logs go. The service's
// logger (src/api/logger.ts) keeps tokens, passwords and URL userinfo out of every line, by
// field and by pattern, whatever carried them: objects, nested config, messages and errors.
import { Writable } from 'node:stream';
import { createLogger, scrubSecrets, withoutUserinfo } from '../../src/api/logger';

function capture(level = 'debug'): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger({ level }, sink) };
}

const TOKEN = 'xcd_s3cr3t-token-value';
const PASSWORD = 'pool-p4ssw0rd';

test('no log line carries a token, a password or URL userinfo', () => {
  const { lines, logger } = capture();
  logger.info({ req: { method: 'GET', headers: { authorization: `Bearer ${TOKEN}` } } }, 'a');
  logger.info({ headers: { authorization: `Bearer ${TOKEN}`, cookie: `s=${TOKEN}` } }, 'b');
  logger.info({ config: { xapi: { url: 'https://pool', user: 'root', password: PASSWORD } } }, 'c');
  logger.info({ envToken: { token: TOKEN, role: 'admin' } }, 'd');
  logger.info({ xapi: `https://root:${PASSWORD}@pool.example:443/` }, 'e');
  logger.warn(`cannot reach https://root:${PASSWORD}@pool.example (sent Bearer ${TOKEN})`);
  logger.error({ err: new Error(`login to http://root:${PASSWORD}@10.0.0.1 failed`) }, 'f');
  logger.info({ password: PASSWORD, token: TOKEN }, 'g');
  expect(lines).toHaveLength(8);
  for (const line of lines) {
    expect(line).not.toContain(TOKEN);
    expect(line).not.toContain(PASSWORD);
    expect(line).not.toMatch(/root:[^@"]*@/);
    expect(() => JSON.parse(line)).not.toThrow();
  }
  // What is not secret stays.
  expect(JSON.parse(lines[2]).config.xapi).toMatchObject({ url: 'https://pool', user: 'root' });
  expect(JSON.parse(lines[4]).xapi).toBe('https://pool.example:443/');
  expect(JSON.parse(lines[6]).err.message).toBe('login to http://10.0.0.1 failed');
});

test('scrubSecrets and withoutUserinfo', () => {
  expect(withoutUserinfo('https://root:pw@pool:8443/x?y')).toBe('https://pool:8443/x?y');
  expect(withoutUserinfo('http://user@pool')).toBe('http://pool');
  expect(withoutUserinfo('unix:///var/lib/xcp/xapi')).toBe('unix:///var/lib/xcp/xapi');
  expect(withoutUserinfo('https://pool')).toBe('https://pool');
  expect(scrubSecrets('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [redacted]');
  expect(scrubSecrets('mail me at ops@example.com')).toBe('mail me at ops@example.com');
});

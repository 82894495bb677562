// `xcd tokens add`: the line it writes holds the token's SHA-256 (never the token), and the
// tokens file it builds authenticates the printed token with the given namespace and role.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { TokenStore } from '../../src/api/auth';
import { registerTokens } from '../../src/cli/tokens';

test('tokens add appends a hashed line that authenticates the printed token', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'xcd-tokens-')), 'tokens.jsonl');
  let stderr = '';
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    stderr += String(c);
    return true;
  });
  try {
    const program = new Command('xcd').exitOverride();
    registerTokens(program);
    const args = ['tokens', 'add', '--id', 'nova', '--namespace', 'nova', '--role', 'operator'];
    await program.parseAsync(['node', 'xcd', ...args, '--file', file]);
  } finally {
    spy.mockRestore();
  }
  const token = /token \(shown once\): (\S+)/.exec(stderr)![1];
  const text = readFileSync(file, 'utf8');
  expect(text).not.toContain(token);
  expect(TokenStore.parse(text).lookup(token)).toEqual({
    tokenId: 'nova',
    namespace: 'nova',
    role: 'operator',
  });
});

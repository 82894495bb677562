// `xcd tokens add`: makes a new bearer token, appends its tokens-file line (the SHA-256 only) to
// --file or prints it, and prints the token once. Must not store or log the plain token.
import { appendFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { generateToken, ROLES, tokenLine, type Role } from '../api/auth';

export function registerTokens(program: Command): void {
  const cmd = program.command('tokens').description('manage the tokens file');
  cmd
    .command('add')
    .description('make a token; its hashed line goes to --file (or stdout)')
    .requiredOption('--id <id>', 'a name for the token (shown in logs)')
    .requiredOption('--namespace <ns>', 'the namespace its instances belong to')
    .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).default('operator'))
    .option('--file <file>', 'tokens file to append to')
    .action((f: { id: string; namespace: string; role: Role; file?: string }) => {
      const token = generateToken();
      const line = tokenLine(f.id, f.namespace, f.role, token);
      if (f.file) appendFileSync(f.file, `${line}\n`, { mode: 0o600 });
      else process.stdout.write(`${line}\n`);
      process.stderr.write(`token (shown once): ${token}\n`);
    });
}

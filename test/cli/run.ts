// Runs `xcd` client commands in-process (the same commander program main.ts builds), capturing
// stdout, stderr and the exit code. A test helper for test/cli; it must not start services.
import { Command } from 'commander';
import { registerDisks } from '../../src/cli/disks';
import { registerEvents } from '../../src/cli/events';
import { registerHost } from '../../src/cli/host';
import { registerImages } from '../../src/cli/images';
import { registerInstances } from '../../src/cli/instances';
import { registerNics } from '../../src/cli/nics';
import { registerSnapshots } from '../../src/cli/snapshots';
import { registerTemplates } from '../../src/cli/templates';
import { registerVolumes } from '../../src/cli/volumes';

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
}

export async function xcd(...args: string[]): Promise<CliResult> {
  const program = new Command('xcd').exitOverride();
  registerInstances(program);
  registerHost(program);
  registerTemplates(program);
  registerSnapshots(program);
  registerImages(program);
  registerVolumes(program);
  registerDisks(program);
  registerNics(program);
  registerEvents(program);
  let stdout = '';
  let stderr = '';
  const out = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
  const err = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
  const saved = process.exitCode;
  process.exitCode = 0;
  let code: number;
  try {
    await program.parseAsync(['node', 'xcd', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = saved;
  }
  return { stdout, stderr, code };
}

// The XAPI simulator in a child process for the benchmarks (`xcd sim` run from src/ with tsx),
// so the simulated pool's work never shares the service's or the load generator's event loop.
// Owns starting it, reading the address it printed and stopping it; knows nothing of a bench.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface SimProcess {
  url: string;
  user: string;
  password: string;
  pid: number;
  close(): Promise<void>;
}

/** `xcd sim` with extra flags (`--vms`, `--time-scale`, `--auth-failure-delay` ...). */
export async function startSimProcess(flags: string[]): Promise<SimProcess> {
  const main = join(__dirname, '..', 'src', 'cli', 'main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'sim', ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`xcd sim exited with ${code}: ${out}`)));
  });
  child.stdout.resume();
  return {
    url,
    user: 'root',
    password: 'xenroot',
    pid: child.pid ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

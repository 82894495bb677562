// A simulator in a child process for tests that must keep the JS thread of the client busy
// while xapi keeps changing: prints {url, user, password, taskRef}, then on a "burst N" line
// on stdin modifies that task record N times, a millisecond apart, and prints "done"; on
// "churn" creates a task, modifies and destroys it the same way, and prints "done REF". Test-only.
import { createInterface } from 'node:readline';
import { startSimulator } from '../../src/simulator';

async function main(): Promise<void> {
  const s = await startSimulator({ authFailureDelayMs: 10 });
  const taskRef = s.store.create('task', { name_label: 'burst', status: 'pending' });
  process.stdout.write(
    JSON.stringify({ url: s.url, user: s.user, password: s.password, taskRef }) + '\n',
  );
  for await (const line of createInterface({ input: process.stdin })) {
    const pause = (): Promise<unknown> => new Promise((r) => setTimeout(r, 1));
    if (line.trim() === 'churn') {
      process.stdout.write('started\n');
      await pause();
      const ref = s.store.create('task', { name_label: 'churn', status: 'pending' });
      for (let i = 1; i <= 20; i++) {
        await pause();
        s.store.update('task', ref, { progress: i / 20 });
      }
      await pause();
      s.store.destroy('task', ref);
      process.stdout.write(`done ${ref}\n`);
      continue;
    }
    const m = /^burst (\d+)$/.exec(line.trim());
    if (!m) break;
    process.stdout.write('started\n');
    const n = Number(m[1]);
    for (let i = 1; i <= n; i++) {
      s.store.update('task', taskRef, { progress: i / n });
      await pause();
    }
    process.stdout.write('done\n');
  }
  await s.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

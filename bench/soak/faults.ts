// The soak's fault schedule: what is injected when, as fractions of the run, through the
// simulator's control endpoint (latency, Nth-call failures, dropped connections, a XAPI restart)
// and on the service's process (SIGKILL, then a start on the same address). Runs the schedule
// and keeps a log of what happened; does not judge the outcome.
import type { ServiceProcess } from './service';

type Control = Record<string, unknown>;
type Step =
  | { at: number; controls: Control[]; note: string }
  | { at: number; killService: true; downMs: number; note: string };

// Nth-call failures and drops on the calls a spawn, a destroy, an action and the event stream
// make; each fires once, on the Nth matching call after it is armed.
const FAILURES = [
  'fail:VM.provision:4:SR_FULL,10737418240,0',
  'fail:VDI.destroy:2:INTERNAL_ERROR,soak',
  'fail:VM.destroy:3:INTERNAL_ERROR,soak',
  'fail:VIF.create:6:INTERNAL_ERROR,soak',
  'fail:VM.start:5:INTERNAL_ERROR,soak',
  'fail:VM.hard_shutdown:3:INTERNAL_ERROR,soak',
  'fail:VBD.create:9:INTERNAL_ERROR,soak',
  'fail:VM.set_other_config:7:INTERNAL_ERROR,soak',
  'fail:VDI.create:8:INTERNAL_ERROR,soak',
];
const DROPS = [
  'drop:VM.start:7',
  'drop:VBD.create:11',
  'drop:event.from:2',
  'drop:VM.clone:5',
  'drop:VM.destroy:4',
  'drop:VM.pause:2',
];

export function schedule(): Step[] {
  const one = (at: number, control: Control, note: string): Step => ({
    at,
    controls: [control],
    note,
  });
  const arm: Control[] = [...FAILURES, ...DROPS].map((fault) => ({ fault }));
  const armNote = `arm ${FAILURES.length} Nth-call failures and ${DROPS.length} drops`;
  return [
    one(0.05, { fault: 'latency:*:40' }, 'latency 40 ms on every call'),
    one(0.12, { clear: true }, 'clear latency'),
    { at: 0.13, controls: arm, note: armNote },
    one(0.22, { restart: true }, 'XAPI restart (refs and sessions change)'),
    { at: 0.27, controls: arm, note: `${armNote} again` },
    one(0.33, { fault: 'latency:VM.clone:1500' }, 'latency 1.5 s on VM.clone (spawns in flight)'),
    { at: 0.36, killService: true, downMs: 1000, note: 'SIGKILL the service, start it 1 s later' },
    one(0.5, { clear: true }, 'clear every fault'),
  ];
}

/** The Nth-call failures and drops each arming adds, for the report. */
export const ARMED_FAULTS = [...FAILURES, ...DROPS];

export interface FaultLogEntry {
  atS: number;
  note: string;
  outcome: string;
}

export async function runSchedule(o: {
  simUrl: string;
  service: ServiceProcess;
  startedAt: number;
  durationMs: number;
  log: FaultLogEntry[];
  /** Called once the service is dead, before it starts again. */
  onServiceKilled?: () => void;
}): Promise<void> {
  const background: Array<Promise<void>> = [];
  for (const step of schedule()) {
    const due = o.startedAt + step.at * o.durationMs;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const atS = (Date.now() - o.startedAt) / 1000;
    const entry: FaultLogEntry = { atS, note: step.note, outcome: 'pending' };
    o.log.push(entry);
    const run = async (): Promise<string> => {
      if (!('killService' in step)) {
        for (const c of step.controls) await control(o.simUrl, c);
        return 'ok';
      }
      await o.service.kill();
      o.onServiceKilled?.();
      await new Promise((r) => setTimeout(r, step.downMs));
      const t = Date.now();
      await o.service.start();
      return `listening again after ${((Date.now() - t) / 1000).toFixed(1)} s`;
    };
    // the service's restart runs beside the rest of the schedule
    const done = run().then(
      (outcome) => void (entry.outcome = outcome),
      (err: unknown) => void (entry.outcome = `ERROR ${(err as Error).message}`),
    );
    if ('killService' in step) background.push(done);
    else await done;
  }
  await Promise.all(background);
}

export async function control(simUrl: string, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${simUrl}/sim/control`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`sim control ${res.status}: ${text}`);
  return 'ok';
}

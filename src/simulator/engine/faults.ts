// Fault injection: parses fault specs (`xcd sim --fault`, POST /sim/control, handle.faults) and
// answers, per incoming call, what to inject (latency, a failure on the Nth call, a dropped
// connection). It does not perform the injection itself; dispatch and server do.
//
// Spec syntax (METHOD is a sync or Async wire name, or * for every method; N counts calls of
// that method from the moment the fault is added, 1 being the next one, * meaning every call):
//   latency:METHOD:MS              delay every matching call by MS milliseconds
//   fail:METHOD:N:CODE[,P1,P2...]  answer the Nth matching call with the XAPI error CODE [P1,...]
//   drop:METHOD[:N]                cut the connection in the middle of the Nth response (default 1)
//   offline:HOST                   host index (0 = master) or uuid goes offline
//   online:HOST                    and back
// The disk transfers match as METHOD `/import_raw_vdi` and `/export_raw_vdi`, by name only (never
// by *): latency delays the answer, fail ends the transfer's task with the error after the 200,
// drop cuts the connection half way through the body.
import { XapiFault } from './fault';

export type FaultSpec =
  | { kind: 'latency'; method: string; ms: number }
  | { kind: 'fail'; method: string; nth: number | '*'; code: string; params: string[] }
  | { kind: 'drop'; method: string; nth: number | '*' }
  | { kind: 'offline'; host: string }
  | { kind: 'online'; host: string };

interface Armed {
  spec: FaultSpec;
  seen: number; // matching calls since added
  spent: boolean;
}

export interface CallFaults {
  latencyMs: number;
  fail?: XapiFault;
  drop: boolean;
}

function parseNth(s: string | undefined, dflt: number | '*'): number | '*' {
  if (s === undefined || s === '') return dflt;
  if (s === '*') return '*';
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`fault: bad call number '${s}'`);
  return n;
}

export function parseFaultSpec(text: string): FaultSpec {
  const parts = text.split(':');
  const kind = parts[0];
  switch (kind) {
    case 'latency': {
      const ms = Number(parts[2]);
      if (!parts[1] || !Number.isFinite(ms) || ms < 0)
        throw new Error(`fault: bad latency spec '${text}'`);
      return { kind, method: parts[1], ms };
    }
    case 'fail': {
      if (!parts[1] || !parts[3]) throw new Error(`fault: bad fail spec '${text}'`);
      const [code, ...params] = parts.slice(3).join(':').split(',');
      return { kind, method: parts[1], nth: parseNth(parts[2], 1), code, params };
    }
    case 'drop':
      if (!parts[1]) throw new Error(`fault: bad drop spec '${text}'`);
      return { kind, method: parts[1], nth: parseNth(parts[2], 1) };
    case 'offline':
    case 'online':
      if (!parts[1]) throw new Error(`fault: bad ${kind} spec '${text}'`);
      return { kind: kind as 'offline', host: parts.slice(1).join(':') };
    default:
      throw new Error(`fault: unknown kind in '${text}' (latency, fail, drop, offline, online)`);
  }
}

export class Faults {
  private armed: Armed[] = [];
  /** Set by the simulator: how offline/online specs reach the pool. */
  onHostState: (host: string, online: boolean) => void = () => undefined;

  add(spec: string | FaultSpec): FaultSpec {
    const s = typeof spec === 'string' ? parseFaultSpec(spec) : spec;
    if (s.kind === 'offline' || s.kind === 'online') {
      this.onHostState(s.host, s.kind === 'online');
    } else {
      this.armed.push({ spec: s, seen: 0, spent: false });
    }
    return s;
  }

  clear(): void {
    this.armed = [];
  }

  list(): FaultSpec[] {
    return this.armed.filter((a) => !a.spent).map((a) => a.spec);
  }

  /**
   * Called once per dispatched call (wire name, e.g. 'Async.VM.start'), or per side-channel
   * request with `named` (its path: only specs naming it match).
   */
  forCall(wireName: string, named = false): CallFaults {
    const out: CallFaults = { latencyMs: 0, drop: false };
    if (this.armed.length === 0) return out;
    const sync = wireName.startsWith('Async.') ? wireName.slice(6) : wireName;
    for (const a of this.armed) {
      const spec = a.spec;
      if (spec.kind === 'offline' || spec.kind === 'online') continue;
      const m = spec.method;
      if (a.spent || ((m !== '*' || named) && m !== wireName && m !== sync)) continue;
      if (spec.kind === 'latency') {
        out.latencyMs += spec.ms;
        continue;
      }
      if (spec.kind !== 'fail' && spec.kind !== 'drop') continue;
      a.seen++;
      const hit = spec.nth === '*' || a.seen === spec.nth;
      if (!hit) continue;
      if (spec.nth !== '*') a.spent = true;
      if (spec.kind === 'fail' && !out.fail) out.fail = new XapiFault(spec.code, spec.params);
      if (spec.kind === 'drop') out.drop = true;
    }
    return out;
  }
}

// Fault tests of operations: the XAPI calls a successful run made, as points (each method and
// which call of it), and the same operation run again once per point with that call failing,
// collecting what went wrong (an operation that did not fail with the injected error, records
// left changed, anything else the test checks). Imports nothing of the service but types.
import type { SimulatorHandle } from '../../src/simulator';

export type CallPoint = [method: string, nth: number];

/** The calls an operation made as points, in order; the instance's operation tag, written
 * behind each answer (VM.add_to/remove_from_other_config), is not the operation's. */
export function callPoints(calls: readonly string[]): CallPoint[] {
  const seen = new Map<string, number>();
  return calls
    .filter((m) => !/^VM\.(add_to|remove_from)_other_config$/.test(m))
    .map((m): CallPoint => {
      const n = (seen.get(m) ?? 0) + 1;
      seen.set(m, n);
      return [m, n];
    });
}

export interface FaultRun {
  /** Runs the operation once (the i-th point failing) and answers its final state. */
  attempt: (
    i: number,
  ) => Promise<{ status: string; error?: { xapi_error?: { code?: string } } | null }>;
  /** The records that must be as before after each failed attempt, by class. */
  snapshot: () => Record<string, unknown[] | undefined>;
  /** Anything else that must hold after an attempt: each string returned is a failure. */
  check?: (where: string) => Promise<string[]> | string[];
}

/** Runs the operation once per point with that call failing (INTERNAL_ERROR) and answers
 * every failure found, `METHOD #N: what` (an empty list when each attempt failed cleanly). */
export async function failEachCall(
  sim: SimulatorHandle,
  points: readonly CallPoint[],
  run: FaultRun,
): Promise<string[]> {
  const failures: string[] = [];
  for (const [i, [method, nth]] of points.entries()) {
    const before = run.snapshot();
    sim.faults.clear();
    sim.faults.add(`fail:${method}:${nth}:INTERNAL_ERROR,injected`);
    let final: Awaited<ReturnType<FaultRun['attempt']>>;
    try {
      final = await run.attempt(i);
    } finally {
      sim.faults.clear();
    }
    const where = `${method} #${nth}`;
    if (final.status !== 'failed') failures.push(`${where}: status ${final.status}`);
    else if (final.error?.xapi_error?.code !== 'INTERNAL_ERROR')
      failures.push(`${where}: error ${JSON.stringify(final.error)}`);
    const after = run.snapshot();
    for (const cls of Object.keys(before))
      if (JSON.stringify(after[cls]) !== JSON.stringify(before[cls]))
        failures.push(`${where}: ${cls} ${before[cls]?.length} -> ${after[cls]?.length}`);
    if (run.check) failures.push(...(await run.check(where)));
  }
  return failures;
}

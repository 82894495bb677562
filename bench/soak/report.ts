// The soak's report: load figures (throughput, latency, operations by kind, answers by status,
// failures by code, 5xx), the fault log, and each check PASS/FAIL with its discrepancies, as
// text on stdout and in full as JSON for whoever fixes what failed. Computes no verdicts.
import fs from 'node:fs';
import type { Check } from './checks';
import { ARMED_FAULTS, type FaultLogEntry } from './faults';
import { bump, type Tally } from './http';
import type { Ledger } from './ledger';

export interface RunFacts {
  clients: number;
  durationS: number;
  elapsedS: number;
  namespaces: string[];
  seed: number;
  serviceLog: string;
  serviceStarts: number;
}

const MAX_ITEMS = 25;

/** A count table, largest first; `note` may add a remark to a row. */
const rows = <K>(m: Map<K, number>, note?: (k: K) => string | undefined): string[] =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => {
      const extra = note?.(k);
      return `    ${String(n).padStart(7)}  ${String(k)}${extra ? ` (e.g. ${extra})` : ''}`;
    });

export function printReport(
  facts: RunFacts,
  tally: Tally,
  opsStarted: Map<string, number>,
  ledger: Ledger,
  faults: FaultLogEntry[],
  checks: Check[],
): void {
  const out: string[] = [];
  const unanswered = tally.byStatus.get(0) ?? 0;
  const answered = tally.requests - unanswered;
  out.push(
    '',
    `soak: ${facts.clients} clients, ${facts.durationS} s, namespaces ${facts.namespaces.join(', ')}, seed ${facts.seed}`,
  );
  out.push(
    `requests answered: ${answered} in ${facts.elapsedS.toFixed(1)} s = ` +
      `${(answered / facts.elapsedS).toFixed(0)} req/s (and ${unanswered} without an HTTP answer); ` +
      `latency p50 ${tally.percentile(0.5).toFixed(1)} ms, p99 ${tally.percentile(0.99).toFixed(1)} ms`,
  );
  const kinds = new Map<string, number>();
  for (const op of ledger.ops.values()) bump(kinds, `${op.kind} ${op.status}`);
  out.push(`operations started by the clients:`, ...rows(opsStarted));
  out.push(`requests by label:`, ...rows(tally.byLabel));
  out.push(`answers by status (0: no HTTP answer):`, ...rows(tally.byStatus));
  out.push(
    `operation ids handed out: ${ledger.ops.size}, by kind and last status:`,
    ...rows(kinds),
  );
  out.push(`failures by label, status and code:`, ...rows(tally.failures));
  out.push(
    `operations the clients saw fail, by kind, power state before and code:`,
    ...rows(tally.operationFailures, (k) => tally.operationFailureDetail.get(k)),
  );
  out.push(`5xx answers: ${tally.serverErrorCount}`);
  for (const s of tally.serverErrors.slice(0, 10))
    out.push(`    ${s.status} ${s.code ?? '-'} ${s.path}${s.detail ? `: ${s.detail}` : ''}`);
  out.push(`faults (service started ${facts.serviceStarts} times; its log: ${facts.serviceLog}):`);
  for (const f of faults)
    out.push(`    t=${f.atS.toFixed(1).padStart(5)} s  ${f.note}: ${f.outcome}`);
  out.push(`    each arming: ${ARMED_FAULTS.join(' ')}`);
  out.push('', 'checks:');
  for (const c of checks) {
    out.push(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.summary}`);
    for (const item of c.items.slice(0, MAX_ITEMS)) out.push(`        ${item}`);
    if (c.items.length > MAX_ITEMS) out.push(`        ... and ${c.items.length - MAX_ITEMS} more`);
  }
  const failed = checks.filter((c) => !c.pass).length;
  out.push(
    '',
    failed
      ? `SOAK FAILED: ${failed} of ${checks.length} checks`
      : `SOAK PASSED: ${checks.length} checks`,
  );
  process.stdout.write(out.join('\n') + '\n');
}

export function writeReport(
  file: string,
  facts: RunFacts,
  tally: Tally,
  ledger: Ledger,
  faults: FaultLogEntry[],
  checks: Check[],
): void {
  const obj = {
    facts,
    requests: tally.requests,
    byLabel: Object.fromEntries(tally.byLabel),
    byStatus: Object.fromEntries(tally.byStatus),
    failures: Object.fromEntries(tally.failures),
    operationFailures: Object.fromEntries(tally.operationFailures),
    serverErrors: tally.serverErrors,
    faults,
    checks,
    operations: [...ledger.ops.values()],
    instances: [...ledger.instances.values()],
  };
  fs.writeFileSync(file, JSON.stringify(obj, null, 2));
}

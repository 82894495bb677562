// Synthetic `VM.get_all_records` response bodies for codec benchmarks and tests: N VM records
// with every datamodel field filled by type (refs, uuids, maps of realistic size), written by the
// simulator's own serializers so the bytes look like xapi's. Deterministic; no I/O, no timing.
import { DATAMODEL, ENUMS } from '../src/xapi/datamodel.generated';
import { jsonrpc, xmlrpc } from '../src/simulator';

// A small deterministic generator, so bodies are identical from run to run.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function uuid(r: () => number): string {
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}

function valueFor(type: string, field: string, i: number, r: () => number): unknown {
  if (type === 'string') {
    if (field === 'uuid') return uuid(r);
    if (field === 'name_label') return `vm-${String(i).padStart(5, '0')}`;
    if (field === 'name_description') return `Synthetic guest ${i} for codec benchmarks`;
    return r() < 0.5 ? '' : `${field}-${Math.floor(r() * 1e6)}`;
  }
  if (type === 'int') return Math.floor(r() * 2 ** 33);
  if (type === 'float') return Math.round(r() * 1000) / 7;
  if (type === 'bool') return r() < 0.5;
  if (type === 'datetime') return '20250319T04:16:24Z';
  if (type.endsWith(' ref')) return r() < 0.2 ? 'OpaqueRef:NULL' : `OpaqueRef:${uuid(r)}`;
  if (type.startsWith('enum ')) {
    const values = ENUMS[type.slice(5)] ?? ['unknown'];
    return values[Math.floor(r() * values.length)];
  }
  if (type.endsWith(' set')) {
    const inner = type.slice(0, -4);
    const n = inner.startsWith('enum ') ? Math.floor(r() * 12) : Math.floor(r() * 4);
    return Array.from({ length: n }, () => valueFor(inner, field, i, r));
  }
  if (type.endsWith(') map')) {
    const inner = type.slice(1, -5);
    const [, valType] = inner.split(' -> ');
    const n = field === 'platform' ? 10 : field === 'other_config' ? 6 : Math.floor(r() * 4);
    const out: Record<string, unknown> = {};
    for (let k = 0; k < n; k++)
      out[`${field.slice(0, 6)}_key_${k}`] = valueFor(valType, field, i, r);
    return out;
  }
  return '';
}

/** `VM.get_all_records` result: { [vmRef]: VMRecord } with `n` records. */
export function vmRecords(n: number, seed = 42): Record<string, Record<string, unknown>> {
  const r = rng(seed);
  const fields = Object.entries(DATAMODEL.VM.fields);
  const out: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < n; i++) {
    const rec: Record<string, unknown> = {};
    for (const [name, [type]] of fields) rec[name] = valueFor(type, name, i, r);
    out[`OpaqueRef:${uuid(r)}`] = rec;
  }
  return out;
}

export const VM_ALL_RECORDS_TYPE = '(VM ref -> VM record) map';

/** The same result as an XML-RPC body and a JSON-RPC v2 body. */
export function vmRecordsBodies(n: number): { xml: Buffer; json: Buffer; fields: number } {
  const records = vmRecords(n);
  return {
    xml: Buffer.from(xmlrpc.formatSuccess(records, VM_ALL_RECORDS_TYPE)),
    json: Buffer.from(jsonrpc.formatJsonSuccess(records, VM_ALL_RECORDS_TYPE, 2, 0)),
    fields: Object.keys(DATAMODEL.VM.fields).length,
  };
}

// Generates src/xapi/datamodel.generated.ts from the XenAPI model (xenapi.json): fields with
// type, qualifier and default, messages with their parameters, enums, and record interfaces.
// Run by hand when the model changes: `npm run gen:datamodel -- <path to xenapi.json>`.
// The model file itself is reference data and is never read at build, test or run time.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CLASSES = [
  'session',
  'pool',
  'host',
  'host_metrics',
  'host_cpu',
  'VM',
  'VM_metrics',
  'VM_guest_metrics',
  'console',
  'VDI',
  'VBD',
  'VBD_metrics',
  'VIF',
  'VIF_metrics',
  'SR',
  'PBD',
  'network',
  'PIF',
  'PIF_metrics',
  'VLAN',
  'Bond',
  'SM',
  'task',
  'event',
  'message',
  'blob',
  'user',
];

interface ModelField {
  name: string;
  type: string;
  qualifier: string;
  default?: string;
}
interface ModelParam {
  type: string;
  name: string;
  required: boolean;
}
interface ModelMessage {
  name: string;
  result: string[];
  params: ModelParam[];
  implicit?: boolean;
}
interface ModelEnum {
  name: string;
  values: { name: string }[];
}
interface ModelClass {
  name: string;
  fields: ModelField[];
  messages: ModelMessage[];
  enums: ModelEnum[];
}

const modelPath = process.argv[2];
if (!modelPath) {
  console.error('usage: npm run gen:datamodel -- <path to xenapi.json>');
  process.exit(2);
}
const model = JSON.parse(readFileSync(modelPath, 'utf8')) as ModelClass[];
const byName = new Map(model.map((c) => [c.name, c]));

const enums = new Map<string, string[]>();
for (const c of model)
  for (const e of c.enums)
    enums.set(
      e.name,
      e.values.map((v) => v.name),
    );

/** The value a field takes when neither the model nor the constructor gives one. */
function implicitDefault(type: string): unknown {
  if (type.endsWith(' ref')) return 'OpaqueRef:NULL';
  if (type.endsWith(' set')) return [];
  if (type.endsWith(' map')) return {};
  if (type.startsWith('enum ')) return enums.get(type.slice(5))?.[0] ?? '';
  switch (type) {
    case 'int':
      return 0;
    case 'float':
      return 0;
    case 'bool':
      return false;
    case 'datetime':
      return '19700101T00:00:00Z';
    default:
      return '';
  }
}

/** The model writes defaults in xapi's datamodel syntax; turn them into wire values. */
function parseDefault(type: string, text: string | undefined): unknown {
  if (text === undefined) return implicitDefault(type);
  // The model spells the null reference both `OpaqueRef:NULL` and `Null`.
  if (type.endsWith(' ref')) return text === 'Null' ? 'OpaqueRef:NULL' : text;
  if (type.endsWith(' set') || type.endsWith(' map')) {
    const inner = text.replace(/^[({]|[)}]$/g, '').trim();
    if (inner === '') return type.endsWith(' set') ? [] : {};
    if (type.endsWith(' set')) return inner.split(/,\s*/).map((s) => s.replace(/^"|"$/g, ''));
    // Maps are written `{"key" -> "value", ...}`.
    const out: Record<string, string> = {};
    for (const pair of inner.matchAll(/"([^"]*)"\s*->\s*"([^"]*)"/g)) out[pair[1]] = pair[2];
    return out;
  }
  switch (type) {
    case 'int':
      return Number(text);
    case 'float':
      return Number(text);
    case 'bool':
      return text === 'true';
    default:
      return text.replace(/^"|"$/g, '');
  }
}

function enumTypeName(name: string): string {
  return 'Enum_' + name;
}

function tsType(type: string): string {
  if (type.endsWith(' ref')) return 'string';
  const set = /^(.*) set$/.exec(type);
  if (set) return `Array<${tsType(set[1])}>`;
  const map = /^\((.*) -> (.*)\) map$/.exec(type);
  if (map) return `Record<string, ${tsType(map[2])}>`;
  if (type.startsWith('enum '))
    return enums.has(type.slice(5)) ? enumTypeName(type.slice(5)) : 'string';
  switch (type) {
    case 'int':
      return 'number';
    case 'float':
      return 'number';
    case 'bool':
      return 'boolean';
    case 'datetime':
      return 'Date';
    case 'string':
      return 'string';
    default:
      return 'unknown';
  }
}

const classes: Record<string, unknown> = {};
const interfaces: string[] = [];
const usedEnums = new Set<string>();
for (const name of CLASSES) {
  const c = byName.get(name);
  if (!c) throw new Error(`class ${name} is not in the model`);
  const fields: Record<string, [string, string, unknown]> = {};
  const lines: string[] = [];
  for (const f of c.fields) {
    fields[f.name] = [f.type, f.qualifier, parseDefault(f.type, f.default)];
    for (const m of f.type.matchAll(/enum (\w+)/g)) usedEnums.add(m[1]);
    lines.push(`  ${/^\w+$/.test(f.name) ? f.name : JSON.stringify(f.name)}: ${tsType(f.type)};`);
  }
  const messages: Record<string, [Array<[string, string, boolean]>, string, boolean, boolean]> = {};
  for (const m of c.messages) {
    const withSession = m.params[0]?.type === 'session ref';
    const params = (withSession ? m.params.slice(1) : m.params).map(
      (p) => [p.name, p.type, p.required] as [string, string, boolean],
    );
    for (const p of params) for (const e of p[1].matchAll(/enum (\w+)/g)) usedEnums.add(e[1]);
    messages[m.name] = [params, m.result[0], Boolean(m.implicit), withSession];
  }
  classes[name] = { fields, messages };
  interfaces.push(
    `export interface ${name.replace(/^\w/, (x) => x.toUpperCase())}Record {\n${lines.join('\n')}\n}`,
  );
}
const enumTable: Record<string, string[]> = {};
for (const e of [...usedEnums].sort()) enumTable[e] = enums.get(e) ?? [];

const out = `// GENERATED by \`npm run gen:datamodel\` (scripts/gen-datamodel.ts) from the XenAPI model.
// Do not edit by hand. Tables of XAPI facts shared by the client and the simulator: for each
// class, fields as [type, qualifier, default] and messages as
// [params (without the session) as [name, type, required], result type, implicit, takes session].
/* eslint-disable */

export type FieldDef = [type: string, qualifier: string, defaultValue: unknown];
export type ParamDef = [name: string, type: string, required: boolean];
export type MessageDef = [params: ParamDef[], result: string, implicit: boolean, takesSession: boolean];
export interface ClassDef { fields: Record<string, FieldDef>; messages: Record<string, MessageDef> }

export const XAPI_CLASSES = ${JSON.stringify(CLASSES)} as const;
export type XapiClass = (typeof XAPI_CLASSES)[number];

export const DATAMODEL: Record<XapiClass, ClassDef> = ${JSON.stringify(classes)};

export const ENUMS: Record<string, string[]> = ${JSON.stringify(enumTable)};

${Object.entries(enumTable)
  .map(
    ([n, v]) =>
      `export type ${enumTypeName(n)} = ${v.map((x) => JSON.stringify(x)).join(' | ') || 'string'};`,
  )
  .join('\n')}

${interfaces.join('\n\n')}

export interface RecordTypes {
${CLASSES.map((n) => `  ${n}: ${n.replace(/^\w/, (x) => x.toUpperCase())}Record;`).join('\n')}
}
`;
writeFileSync(join(__dirname, '../src/xapi/datamodel.generated.ts'), out);
console.log(`wrote src/xapi/datamodel.generated.ts: ${CLASSES.length} classes`);

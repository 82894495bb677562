// `npm run bench:codec`: decoding a 10,000-VM `VM.get_all_records` body, XML-RPC and JSON-RPC,
// with the addon's codecs (into the C++ tree, and into JS objects) against JSON.parse in the
// same run. Prints each median and the ratios, in wall time and in CPU time of the decoding
// thread (on a shared machine the latter excludes waiting for a core).
// Usage: tsx bench/codec-decode.ts [vms] [rounds]
import { loadTestingAddon } from '../test/xapi/testing-addon';
import { vmRecordsBodies } from './vm-records-body';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// [wall ms, process CPU ms] of one synchronous call.
function timeMs(f: () => void): [number, number] {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  f();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return [wall, (c.user + c.system) / 1e3];
}

function main(): void {
  const vms = Number(process.argv[2] ?? 10000);
  const rounds = Number(process.argv[3] ?? 5);
  const { codec } = loadTestingAddon();
  const { xml, json, fields } = vmRecordsBodies(vms);
  const mb = (b: Buffer) => (b.length / 1e6).toFixed(1);
  console.log(`${vms} VMs x ${fields} fields: XML-RPC ${mb(xml)} MB, JSON-RPC ${mb(json)} MB`);

  const rows: Array<[string, number, number]> = [];
  const nativeXml: Array<[number, number]> = [];
  const nativeJson: Array<[number, number]> = [];
  const jsonParse: Array<[number, number]> = [];
  let values = 0;
  const text = json.toString('utf8');
  for (let i = 0; i < rounds; i++) {
    const x = codec.decodeNative('xml-rpc', xml);
    nativeXml.push([x.decodeMs, x.decodeCpuMs]);
    values = x.values;
    const j = codec.decodeNative('json-rpc', json);
    nativeJson.push([j.decodeMs, j.decodeCpuMs]);
    jsonParse.push(timeMs(() => JSON.parse(text)));
  }
  const med = (xs: Array<[number, number]>): [number, number] => [
    median(xs.map((x) => x[0])),
    median(xs.map((x) => x[1])),
  ];
  rows.push(['addon XML-RPC -> C++ tree', ...med(nativeXml)]);
  rows.push(['addon JSON-RPC -> C++ tree', ...med(nativeJson)]);
  rows.push(['JSON.parse (string already decoded)', ...med(jsonParse)]);
  rows.push(['addon XML-RPC -> JS objects', ...timeMs(() => codec.xmlrpcDecodeResponse(xml))]);
  rows.push(['addon JSON-RPC -> JS objects', ...timeMs(() => codec.jsonrpcDecodeResponse(json))]);
  console.log(
    `values per body: ${values}; medians of ${rounds} rounds (JS-object rows: one round)`,
  );
  const [baseWall, baseCpu] = med(jsonParse);
  console.log(
    `${''.padEnd(40)} ${'wall ms'.padStart(9)} ${'ratio'.padStart(7)} ${'cpu ms'.padStart(9)} ${'ratio'.padStart(7)}`,
  );
  for (const [name, wall, cpu] of rows) {
    console.log(
      `${name.padEnd(40)} ${wall.toFixed(1).padStart(9)} ${(wall / baseWall).toFixed(2).padStart(6)}x` +
        ` ${cpu.toFixed(1).padStart(9)} ${(cpu / baseCpu).toFixed(2).padStart(6)}x`,
    );
  }
}

main();

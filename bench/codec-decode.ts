// `npm run bench:codec`: decoding a 10,000-VM `VM.get_all_records` body, XML-RPC and JSON-RPC,
// with the addon's codecs (into the C++ tree, and into JS objects) against JSON.parse in the
// same run. Prints each median and the ratios. Usage: tsx bench/codec-decode.ts [vms] [rounds]
import { loadAddon } from '../src/xapi/addon';
import { vmRecordsBodies } from './vm-records-body';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeMs(f: () => void): number {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function main(): void {
  const vms = Number(process.argv[2] ?? 10000);
  const rounds = Number(process.argv[3] ?? 5);
  const { codec } = loadAddon();
  const { xml, json, fields } = vmRecordsBodies(vms);
  const mb = (b: Buffer) => (b.length / 1e6).toFixed(1);
  console.log(`${vms} VMs x ${fields} fields: XML-RPC ${mb(xml)} MB, JSON-RPC ${mb(json)} MB`);

  const rows: Array<[string, number]> = [];
  const nativeXml: number[] = [];
  const nativeJson: number[] = [];
  const jsonParse: number[] = [];
  let values = 0;
  for (let i = 0; i < rounds; i++) {
    const x = codec.decodeNative('xml-rpc', xml);
    nativeXml.push(x.decodeMs);
    values = x.values;
    nativeJson.push(codec.decodeNative('json-rpc', json).decodeMs);
    const text = json.toString('utf8');
    jsonParse.push(timeMs(() => JSON.parse(text)));
  }
  rows.push(['addon XML-RPC -> C++ tree', median(nativeXml)]);
  rows.push(['addon JSON-RPC -> C++ tree', median(nativeJson)]);
  rows.push(['JSON.parse (string already decoded)', median(jsonParse)]);
  rows.push(['addon XML-RPC -> JS objects', timeMs(() => codec.xmlrpcDecodeResponse(xml))]);
  rows.push(['addon JSON-RPC -> JS objects', timeMs(() => codec.jsonrpcDecodeResponse(json))]);
  console.log(`values per body: ${values}`);
  const base = median(jsonParse);
  for (const [name, ms] of rows) {
    console.log(`${name.padEnd(40)} ${ms.toFixed(1).padStart(8)} ms   ${(ms / base).toFixed(2)}x JSON.parse`);
  }
}

main();

// Peer row for `npm run bench:xapi`: the xen-api package's XML-RPC decoding path (@vates/xml
// parse + @vates/xml-rpc parser, as xen-api's transports/xml-rpc.mjs does) on a body file.
// Usage: node bench/peers/xen-api-xmlrpc.mjs BODY_FILE [rounds]; prints JSON {ms: [...]}.
import { readFileSync } from 'node:fs';
import { parseXml } from '@vates/xml/parse';
import { xmlRpcParser } from '@vates/xml-rpc/parser';

const body = readFileSync(process.argv[2]);
const rounds = Number(process.argv[3] ?? 1);
const ms = [];
let records = 0;
for (let i = 0; i < rounds; i++) {
  const t0 = process.hrtime.bigint();
  const xml = body.toString('utf8');
  const response = xmlRpcParser.parse(parseXml(xml, { normalize: false, trim: false }));
  const result = response.params[0];
  ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  records = Object.keys(result.Value ?? result).length;
}
console.log(JSON.stringify({ ms, records }));

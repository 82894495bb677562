// The ceiling peer of `npm run bench:api`: a bare Node http server, in its own process, that
// answers each path of a JSON file {path: body} with that body as the service sent it
// (Content-Type application/json; charset=utf-8), 404 for any other path. Prints
// `listening on http://127.0.0.1:PORT`. Does no work per request beyond looking the path up.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import process from 'node:process';

const bodies = new Map(Object.entries(JSON.parse(readFileSync(process.argv[2], 'utf8'))));
const server = http.createServer((req, res) => {
  const body = bodies.get(req.url);
  if (body === undefined) {
    res.statusCode = 404;
    res.end();
    return;
  }
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));

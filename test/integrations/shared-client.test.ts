// The REST client module ships inside each integration (each installs on its own); this keeps
// the copies identical so a fix reaches all three. Must not test behaviour (the others do).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INTEGRATIONS } from './orchestrator';

test('the three copies of the REST client are identical', () => {
  const copies = [
    join(INTEGRATIONS, 'nova', 'xcd_nova', 'rest.py'),
    join(INTEGRATIONS, 'cloudstack', 'xcd_rest.py'),
    join(INTEGRATIONS, 'opennebula', 'remotes', 'vmm', 'xcd', 'xcd_rest.py'),
  ].map((p) => readFileSync(p, 'utf8'));
  expect(copies[1]).toBe(copies[0]);
  expect(copies[2]).toBe(copies[0]);
});

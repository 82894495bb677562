// Generates src/contract/openapi.generated.ts (TypeScript types) from openapi/compute-driver.yaml with
// openapi-typescript. Run `npm run gen:openapi` after every change to the spec; a test
// regenerates (`--stdout` prints instead of writing) and fails when the committed file is stale.
// Never edit the output by hand.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { parse } from 'yaml';

export const SPEC_PATH = join(__dirname, '..', 'openapi', 'compute-driver.yaml');
export const OUT_PATH = join(__dirname, '..', 'src', 'contract', 'openapi.generated.ts');

const HEADER =
  '// GENERATED FILE, do not edit. Generated from openapi/compute-driver.yaml by\n' +
  '// `npm run gen:openapi` (scripts/gen-openapi.ts, openapi-typescript).\n' +
  '// Owns the TypeScript face of the REST contract; must not hold any hand-written type.\n\n';

export async function generateOpenapiTypes(): Promise<string> {
  const doc = parse(readFileSync(SPEC_PATH, 'utf8')) as Record<string, unknown>;
  const ast = await openapiTS(doc as never, { alphabetize: false, defaultNonNullable: false });
  return HEADER + astToString(ast);
}

if (require.main === module) {
  generateOpenapiTypes().then(
    (text) => {
      if (process.argv.includes('--stdout')) {
        process.stdout.write(text);
        return;
      }
      writeFileSync(OUT_PATH, text);
      console.log(`wrote ${OUT_PATH}`);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

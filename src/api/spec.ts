// Loads the REST contract (openapi/compute-driver.yaml) once, for the validator, /openapi.json
// and /docs. The path resolves the same from src/api (tsx, jest) and dist/api (node); the file
// ships beside the build. Must not hold any schema of its own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const SPEC_FILE = join(__dirname, '..', '..', 'openapi', 'compute-driver.yaml');

export type OpenApiDocument = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
};

let cached: OpenApiDocument | undefined;

/** The parsed spec. Callers get a deep copy: the validator annotates what it is given. */
export function loadSpec(): OpenApiDocument {
  if (!cached) cached = parse(readFileSync(SPEC_FILE, 'utf8')) as OpenApiDocument;
  return structuredClone(cached);
}

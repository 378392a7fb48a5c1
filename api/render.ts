/**
 * `node api/render.ts`: write what is generated from the route table — api/openapi.json and
 * functions/edge-auth/rules.json (nginx renders its locations from the table itself). Commit both;
 * api/api.test.ts fails when either is stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderEdgeRules } from './edge-rules.ts';
import { renderOpenApi } from './openapi.ts';

const root = join(import.meta.dirname, '..');
export const OPENAPI_FILE = join(root, 'api', 'openapi.json');
export const EDGE_RULES_FILE = join(root, 'functions', 'edge-auth', 'rules.json');

if (import.meta.main) {
  writeFileSync(OPENAPI_FILE, renderOpenApi());
  writeFileSync(EDGE_RULES_FILE, renderEdgeRules());
  process.stdout.write(`wrote ${OPENAPI_FILE}\nwrote ${EDGE_RULES_FILE}\n`);
}

/**
 * docs/rfc-coverage.md lists every RFC citation in the code as the code has it now: a citation added or
 * removed without regenerating the document fails here, with the command that regenerates it.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { collectCitations, GENERATED_MARKER, REGENERATE, renderRfcCoverage, rfcsInTable } from '../../scripts/rfc-coverage.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const committed = readFileSync(new URL('../../docs/rfc-coverage.md', import.meta.url), 'utf8');

it('docs/rfc-coverage.md lists the RFC citations the code has now', () => {
  assert.ok(committed.includes(GENERATED_MARKER), `docs/rfc-coverage.md has no generated part: run ${REGENERATE}`);
  assert.ok(committed === renderRfcCoverage(root, committed), `docs/rfc-coverage.md is out of date with the RFC citations in the code: run ${REGENERATE}`);
});

it('every RFC of the hand-kept table is cited somewhere in the code', () => {
  const cited = new Set(collectCitations(root).map((c) => c.rfc));
  const table = rfcsInTable(committed.slice(0, committed.indexOf(GENERATED_MARKER)));
  assert.deepEqual([...table].filter((rfc) => !cited.has(rfc)), [], 'the table names RFCs no code line cites: cite them where the rule is enforced, or drop the row');
});

/**
 * Splitting a migration file into statements with PostgreSQL's parser (sandbox/migrations/
 * sql-statements.ts), on files of plpgsql functions whose dollar-quoted bodies hold semicolons,
 * quotes and `$` signs. Prints the time per size, how time grows with size (linear: 5× for 5× the
 * text), and the ratio to a baseline measured in the same run: the file's sha256 checksum, which
 * every run computes anyway.
 *
 *   node --import tsx bench/sql-split.bench.ts
 *
 * Target (issue 25): linear in size; a 5 MB file with 10,000 dollar-quoted bodies split in < 1 s.
 */
import { checksumOf } from '../operations/migrations/files.ts';
import { loadSqlParser, parseSql } from '../operations/migrations/sql-statements.ts';

function functionsFile(functions: number, padding: number): string {
  const parts: string[] = [];
  for (let i = 0; i < functions; i += 1) {
    parts.push(`-- function ${i}: ${'x'.repeat(padding)}
CREATE OR REPLACE FUNCTION bench_f${i}(a int, b text) RETURNS int LANGUAGE plpgsql AS $body$
DECLARE
  total int := $1; label text := 'a;b$c' || E'\\n' || $$inner; $$;
BEGIN
  /* a comment; /* nested; */ */
  SELECT count(*) INTO total FROM bench_items WHERE name = b AND note <> 'x;y';
  RETURN total + ${i};
END
$body$;
`);
  }
  return parts.join('');
}

function best(runs: number, work: () => void): number {
  let fastest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    work();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}

await loadSqlParser();
// The first parses grow the parser's WebAssembly memory: not what a run of many files pays.
parseSql(functionsFile(10_000, 280));
const sizes = [2_000, 10_000];
const results: { functions: number; megabytes: number; splitMs: number; checksumMs: number; statements: number }[] = [];
for (const functions of sizes) {
  const sql = functionsFile(functions, 280);
  let statements = 0;
  const splitMs = best(3, () => {
    const parsed = parseSql(sql);
    if (!parsed.ok) throw new Error(parsed.error.message);
    statements = parsed.statements.length;
  });
  const checksumMs = best(3, () => checksumOf(sql));
  results.push({ functions, megabytes: sql.length / 1e6, splitMs, checksumMs, statements });
}

console.log('Splitting migration files with PostgreSQL\'s parser (best of 3):');
for (const r of results) {
  console.log(`  ${r.functions.toLocaleString('en')} functions, ${r.megabytes.toFixed(1)} MB: ${r.statements} statements in ${r.splitMs.toFixed(0)} ms; sha256 of the file ${r.checksumMs.toFixed(1)} ms; split / checksum = ${(r.splitMs / r.checksumMs).toFixed(1)}`);
}
const [small, large] = results as [typeof results[0], typeof results[0]];
const growth = large.splitMs / small.splitMs;
const sizeRatio = large.megabytes / small.megabytes;
console.log(`  growth: ${sizeRatio.toFixed(1)}× the text took ${growth.toFixed(1)}× the time (linear: ${sizeRatio.toFixed(1)}×; quadratic: ${(sizeRatio ** 2).toFixed(0)}×)`);
console.log(`  target: the ${large.megabytes.toFixed(1)} MB file in < 1000 ms: ${large.splitMs < 1000 ? 'met' : 'NOT met'} (${large.splitMs.toFixed(0)} ms)`);

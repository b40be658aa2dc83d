// Prints the run's totals; fails CI when no test ran on the real PostgreSQL (names say "on real PostgreSQL") or one was skipped.
import fs from 'node:fs';

const report = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const real = report.testResults.flatMap((file) => file.assertionResults)
  .filter((test) => /on '?real'? PostgreSQL/.test(test.fullName));
const passed = real.filter((t) => t.status === 'passed').length;
const notPassed = real.filter((t) => t.status !== 'passed');
if (passed === 0 || notPassed.length > 0) {
  console.error(`real-PostgreSQL tests: ${passed} passed, ${notPassed.length} not passed (${notPassed.map((t) => `${t.title}: ${t.status}`).join('; ') || 'none ran'})`);
  process.exit(1);
}
console.log(`real-PostgreSQL tests: ${passed} passed`);

// The plain closing line CI reads: totals of the whole run.
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);

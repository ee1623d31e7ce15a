// A node:test reporter that prints only the closing line CI reads: "N passed, N failed, N skipped".
// Skipped tests are listed with their reason so that a skip is never silent.
export default async function* summary(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const skips = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    // Suites report too; count leaf tests only (a suite has children and reports details.type 'suite').
    if (event.data.details?.type === 'suite') {
      if (event.type === 'test:fail' && event.data.details?.error?.failureType !== 'subtestsFailed') failed++;
      // A skipped suite reports no leaf tests: count it once, with its reason.
      if (event.type === 'test:pass' && event.data.skip !== undefined) {
        skipped++;
        skips.push(
          `${event.data.name} (suite): ${typeof event.data.skip === 'string' ? event.data.skip : 'skipped'}`,
        );
      }
      continue;
    }
    // A todo test (known to fail, with its reason) is neither a pass nor a failure: listed like a skip.
    if (event.data.todo !== undefined) {
      skipped++;
      skips.push(
        `${event.data.name}: todo: ${typeof event.data.todo === 'string' ? event.data.todo : 'todo'}`,
      );
    } else if (event.type === 'test:fail') failed++;
    else if (event.data.skip !== undefined) {
      skipped++;
      skips.push(`${event.data.name}: ${typeof event.data.skip === 'string' ? event.data.skip : 'skipped'}`);
    } else passed++;
  }
  if (skips.length > 0) yield `\nskipped:\n${skips.map((line) => `  - ${line}`).join('\n')}\n`;
  yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}

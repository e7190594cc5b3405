/**
 * Child process for journal-lock.test.ts: opens the journal in argv[2] (taking its lock),
 * prints "ready <pid>" and holds it until killed or until stdin closes (then closes cleanly).
 */
import { JournalStore } from '../../src/store/journal/journal-store.js';

const store = await JournalStore.open({ dir: process.argv[2]! });
await store.recover({ definition() {}, message() {} });
process.stdout.write(`ready ${process.pid}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void store.close().then(() => process.exit(0));
});

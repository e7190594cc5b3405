// Long variant of ../recovery-crash.test.ts (A5 kills during recovery): the same tests with BATON_RECOVERY_KILLS=100 unless set.
process.env.BATON_RECOVERY_KILLS ??= '100';
await import('../recovery-crash.test.js');

// Long variant of ../corruption.test.ts (B1/B2 cuts at 50 offsets and all six bit flips): the same tests with BATON_LONG=1 unless set.
process.env.BATON_LONG ??= '1';
await import('../corruption.test.js');

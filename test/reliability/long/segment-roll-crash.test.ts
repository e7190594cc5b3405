// Long variant of ../segment-roll-crash.test.ts (A3 crash points): the same tests with BATON_CRASH_POINT_CYCLES=50 unless set.
process.env.BATON_CRASH_POINT_CYCLES ??= '50';
await import('../segment-roll-crash.test.js');

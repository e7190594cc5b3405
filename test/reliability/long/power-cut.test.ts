// Long variant of ../power-cut.test.ts (A2 power cuts): the same tests with BATON_POWER_CUT_CYCLES=200 unless set.
process.env.BATON_POWER_CUT_CYCLES ??= '200';
await import('../power-cut.test.js');

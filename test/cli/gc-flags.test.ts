import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gcFlags } from '../../src/cli/gc-flags.js';

void test('baton serve turns parallel scavenges off unless node was told otherwise', () => {
  assert.deepEqual(gcFlags([]), ['--no-parallel-scavenge']);
  assert.deepEqual(gcFlags(['--enable-source-maps', '--max-old-space-size=4096']), [
    '--no-parallel-scavenge',
  ]);
  // The operator's own choice on node's command line wins.
  assert.deepEqual(gcFlags(['--parallel-scavenge']), []);
  assert.deepEqual(gcFlags(['--parallel_scavenge']), []);
  assert.deepEqual(gcFlags(['--no-parallel-scavenge']), []);
  // A longer flag that merely starts the same is not the operator's choice of this one.
  assert.deepEqual(gcFlags(['--parallel-scavenge-task-trace']), ['--no-parallel-scavenge']);
});

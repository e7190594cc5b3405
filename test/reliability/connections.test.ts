/** Idle connections and pre-handshake sockets with a bystander, short variant (C4, C6). */
import { test } from 'node:test';
import { runConnections } from './connections.js';

void test('1k idle connections and 200 pre-handshake sockets: bystander unaffected, pre-handshake sockets closed at the 10 s handshake timeout (C4, C6)', async (t) => {
  await runConnections(t, { idle: 1000, pre: 200, holdMs: 2000 });
});

/** 10k idle connections and 2k pre-handshake sockets with a bystander, long variant (C4, C6). */
import { test } from 'node:test';
import { runConnections } from '../connections.js';

void test('long: 10k idle connections and 2k pre-handshake sockets (C4, C6)', async (t) => {
  await runConnections(t, {
    idle: Number(process.env.BATON_IDLE_CONNECTIONS ?? 10_000),
    pre: Number(process.env.BATON_PRE_HANDSHAKE ?? 2000),
    holdMs: Number(process.env.BATON_IDLE_HOLD_MS ?? 60_000),
  });
});

import type { TestContext } from 'node:test';
import { AMQP_0_9_1, MethodId, RawClient } from '../helpers/amqp-raw.js';

/**
 * The connection.close a broker answers connection.open with (amqplib does not show its
 * text): a raw handshake as `user` into `vhost`, expecting a refusal.
 */
export async function openRefusal(
  t: TestContext,
  port: number,
  vhost: string,
  user: string,
  password: string,
): Promise<{ replyCode: number; replyText: string }> {
  const c = await RawClient.open(t, port);
  c.write(AMQP_0_9_1);
  await c.expectMethod(0, MethodId.ConnectionStart);
  c.startOk(user, password);
  const tune = await c.expectMethod(0, MethodId.ConnectionTune);
  c.sendMethod(0, MethodId.ConnectionTuneOk, {
    channelMax: tune.channelMax,
    frameMax: tune.frameMax,
    heartbeat: 0,
  });
  c.sendMethod(0, MethodId.ConnectionOpen, { virtualHost: vhost, capabilities: '', insist: false });
  const close = await c.expectConnectionClose();
  return { replyCode: close.replyCode, replyText: close.replyText };
}

import type amqp from 'amqplib';

/** Switch a vhost's tracing over the management API, as RabbitMQ's PUT /api/vhosts/{vhost}. */
export async function setTracing(httpPort: number, on: boolean, vhost = '/'): Promise<Response> {
  return fetch(`http://127.0.0.1:${httpPort}/api/vhosts/${encodeURIComponent(vhost)}`, {
    method: 'PUT',
    headers: { authorization: GUEST, 'content-type': 'application/json' },
    body: JSON.stringify({ tracing: on }),
  });
}

/** GET a management path as guest; the parsed JSON body and the status. */
export async function getJson(
  httpPort: number,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
    headers: { authorization: GUEST },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export const GUEST = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

/** Publish and wait for the broker's confirm. */
export async function publishConfirmed(
  ch: amqp.ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: string,
  options: amqp.Options.Publish = {},
): Promise<void> {
  ch.publish(exchange, routingKey, Buffer.from(body), options);
  await ch.waitForConfirms();
}

/**
 * `host:port` as RabbitMQ writes peers (its `rabbit_misc:ntoab`): an IPv4-mapped IPv6 address
 * (`::ffff:127.0.0.1`, what a listener on `::` sees for IPv4 clients) as plain IPv4, any other
 * IPv6 address in brackets (`[::1]:5672`).
 */
export function hostPort(address: string | undefined, port: number | undefined): string {
  const a = address === undefined ? '?' : plainHost(address);
  return `${a.includes(':') ? `[${a}]` : a}:${port ?? '?'}`;
}

/** An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as plain IPv4; any other address as is. */
export function plainHost(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.')
    ? address.slice('::ffff:'.length)
    : address;
}

/** `host:port`, an IPv6 address in brackets (`[::1]:5672`), as RabbitMQ and URLs write them. */
export function hostPort(address: string | undefined, port: number | undefined): string {
  const a = address ?? '?';
  return `${a.includes(':') ? `[${a}]` : a}:${port ?? '?'}`;
}

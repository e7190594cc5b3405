import { apiPath } from './api-client.js';
import { optionValue } from './args.js';
import { defineCommand, type Command } from './command.js';

const close = defineCommand(
  {
    name: 'connection close',
    args: '<name>',
    positionals: [1, 1],
    summary: "Close a client connection (its name as 'connections list' shows it)",
    description:
      'DELETE /api/connections/{name}. The client gets connection.close 320 (CONNECTION_FORCED) with the reason.',
    options: [
      {
        name: '--reason',
        value: 'TEXT',
        help: 'Told to the client (X-Reason; default: RabbitMQ\'s "Closed via management plugin")',
      },
    ],
  },
  async (io, args) => {
    const name = args.positional[0]!;
    const reason = optionValue(args, '--reason');
    await io.api.request(
      'DELETE',
      apiPath('connections', name),
      reason === undefined ? {} : { headers: { 'x-reason': reason } },
    );
    io.out(`closed connection '${name}'\n`);
  },
);

export const CONNECTION_COMMANDS: Command[] = [close];

// Connections and channels: peer, user, client, channels, rates; close a connection.

import { del, get, seg } from '../api.js';
import { h, replace } from '../dom.js';
import { bytes, detail, num, rateColumn, time } from '../format.js';
import { POLL_MS, refreshLive } from '../live.js';
import { card, confirmDialog, errorBox, pageHead, pill, table, toast } from '../ui.js';

const view = { conn: { key: 'name', dir: 1 }, chan: { key: 'name', dir: 1 } };

const client = (c) => {
  const p = c.client_properties ?? {};
  return [p.connection_name, p.product, p.version].filter(Boolean).join(' · ') || '–';
};

async function close(c, reload) {
  const ok = await confirmDialog(
    'Close connection?',
    `Connection ${c.name} (user '${c.user}', ${client(c)}) is closed with a connection.close: its channels end and unacked messages are requeued.`,
    'Close connection',
  );
  if (!ok) return;
  try {
    await del(`connections/${seg(c.name)}`, { 'x-reason': 'Closed from the Baton dashboard' });
    toast(`Closed ${c.name}`);
  } catch (err) {
    toast(`Close failed: ${err.message}`, 'error');
  }
  void reload();
  void refreshLive();
}

export function connectionsPage(main) {
  const conns = h('div', h('p.muted', 'Loading…'));
  const chans = h('div');
  const count = h('span.muted');
  main.append(pageHead('Connections', count), card('Connections', conns), card('Channels', chans));
  let data;
  let timer;
  let stopped = false;

  const connColumns = [
    { key: 'name', label: 'Name', value: (c) => c.name, render: (c) => h('code', c.name) },
    { key: 'peer', label: 'Peer', value: (c) => `${c.peer_host}:${c.peer_port}` },
    { key: 'user', label: 'User', value: (c) => c.user },
    { key: 'vhost', label: 'Vhost', value: (c) => c.vhost },
    { key: 'client', label: 'Client', value: client },
    {
      key: 'state',
      label: 'State',
      value: (c) => c.state ?? '',
      render: (c) =>
        pill(c.state ?? 'running', c.state === 'blocked' || c.state === 'blocking' ? 'warn' : 'ok'),
    },
    {
      key: 'channels',
      label: 'Channels',
      num: true,
      value: (c) => c.channels ?? 0,
      render: (c) => num(c.channels),
    },
    {
      key: 'recv',
      label: 'From client',
      num: true,
      value: (c) => detail(c, 'recv_oct') ?? 0,
      render: (c) => `${bytes(detail(c, 'recv_oct') ?? 0)}/s`,
    },
    {
      key: 'send',
      label: 'To client',
      num: true,
      value: (c) => detail(c, 'send_oct') ?? 0,
      render: (c) => `${bytes(detail(c, 'send_oct') ?? 0)}/s`,
    },
    {
      key: 'since',
      label: 'Connected',
      value: (c) => c.connected_at ?? 0,
      render: (c) => time(c.connected_at),
    },
    {
      key: 'close',
      label: '',
      value: () => '',
      render: (c) =>
        h(
          'button.danger.small',
          { type: 'button', 'data-action': 'close', onclick: () => close(c, load) },
          'Close',
        ),
    },
  ];
  const chanColumns = [
    { key: 'name', label: 'Channel', value: (c) => c.name, render: (c) => h('code', c.name) },
    { key: 'user', label: 'User', value: (c) => c.user },
    {
      key: 'mode',
      label: 'Mode',
      value: (c) => (c.confirm ? 'C' : '') + (c.transactional ? 'T' : ''),
      render: (c) => [c.confirm ? pill('confirm') : null, c.transactional ? pill('tx') : null],
    },
    {
      key: 'prefetch',
      label: 'Prefetch',
      num: true,
      value: (c) => c.prefetch_count ?? 0,
      render: (c) => num(c.prefetch_count),
    },
    {
      key: 'consumers',
      label: 'Consumers',
      num: true,
      value: (c) => c.consumer_count ?? 0,
      render: (c) => num(c.consumer_count),
    },
    {
      key: 'unacked',
      label: 'Unacked',
      num: true,
      value: (c) => c.messages_unacknowledged ?? 0,
      render: (c) => num(c.messages_unacknowledged),
    },
    {
      key: 'unconfirmed',
      label: 'Unconfirmed',
      num: true,
      value: (c) => c.messages_unconfirmed ?? 0,
      render: (c) => num(c.messages_unconfirmed),
    },
    rateColumn('pub', 'Publish', 'publish', true),
    rateColumn('del', 'Deliver / get', 'deliver_get', true),
    rateColumn('ack', 'Ack', 'ack', true),
  ];

  const paint = (err) => {
    replace(count, data ? `${data.connections.length} open` : '');
    replace(
      conns,
      err ? errorBox(err, data ? 'Refresh failed' : 'Could not load') : null,
      data
        ? table({
            columns: connColumns,
            rows: data.connections,
            sort: view.conn,
            onSort: (s) => {
              view.conn = s;
              paint();
            },
            rowKey: (c) => c.name,
            empty: 'No client connections.',
          })
        : null,
    );
    replace(
      chans,
      data
        ? table({
            // Rate columns only when the broker keeps per-channel message_stats.
            columns: data.channels.some((c) => c.message_stats)
              ? chanColumns
              : chanColumns.filter((c) => !c.stats),
            rows: data.channels,
            sort: view.chan,
            onSort: (s) => {
              view.chan = s;
              paint();
            },
            empty: 'No channels.',
          })
        : null,
    );
  };
  async function load() {
    clearTimeout(timer);
    let error;
    try {
      const [connections, channels] = await Promise.all([get('connections'), get('channels')]);
      data = { connections, channels };
    } catch (err) {
      error = err;
    }
    if (stopped) return;
    paint(error);
    timer = setTimeout(load, POLL_MS);
  }
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

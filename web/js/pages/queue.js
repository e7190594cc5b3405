// A queue: details and arguments, consumers, bindings; peek, get, publish, purge, delete; for a
// dead-letter queue each message's x-death and a one-click redrive.

import { del, get, post, seg } from '../api.js';
import { h, replace } from '../dom.js';
import { detail, num, rate } from '../format.js';
import { refreshLive } from '../live.js';
import {
  attempt,
  card,
  confirmDialog,
  errorBox,
  kv,
  pageHead,
  pill,
  table,
  tile,
  toast,
} from '../ui.js';
import { messageView } from './message.js';
import { features, stateOf } from './queues.js';

/** Queues whose dead letters land in `q` (given its bindings and every queue's arguments). */
export function deadLetterSources(q, all, bindings) {
  const sources = [];
  for (const o of all) {
    if (o.vhost !== q.vhost || o.name === q.name) continue;
    const a = o.arguments ?? {};
    const dlx = a['x-dead-letter-exchange'];
    if (typeof dlx !== 'string') continue;
    const key = a['x-dead-letter-routing-key'];
    if (
      dlx === ''
        ? key === q.name
        : bindings.some(
            (b) =>
              b.source === dlx &&
              (key === undefined || b.routing_key === key || b.routing_key === '#'),
          )
    )
      sources.push(o.name);
  }
  return sources;
}

export function queuePage(main, { vhost, name }) {
  const base = `queues/${seg(vhost)}/${seg(name)}`;
  const head = h('div');
  const summary = h('div.tiles');
  const details = h('div', h('p.muted', 'Loading…'));
  const consumers = h('div');
  const bindings = h('div');
  const dlq = h('div', { hidden: true, 'data-dlq': '' });
  const messages = h('div.messages', { 'data-messages': '' });
  main.append(
    head,
    summary,
    dlq,
    h(
      'div.grid-3',
      card('Details', details),
      card('Consumers', consumers),
      card('Bindings', bindings),
    ),
    h(
      'div.grid-2',
      card('Messages', peekForm(), messages),
      card('Publish to this queue', publishForm()),
    ),
  );

  let sources = [];
  let lastPeek = [];

  async function load() {
    let q;
    try {
      q = await get(base);
    } catch (err) {
      replace(head, pageHead(`Queue ${name}`), errorBox(err));
      return;
    }
    const [bs, all] = await Promise.all([
      get(`${base}/bindings`).catch(() => []),
      get(`queues/${seg(vhost)}`).catch(() => []),
    ]);
    sources = deadLetterSources(q, all, bs);
    replace(
      head,
      h(
        'div.page-head',
        h(
          'div',
          h('div.crumbs', h('a', { href: '#/queues' }, 'Queues'), ' / ', vhost),
          h('h1', { 'data-queue-name': '' }, name),
          h(
            'div',
            stateOf(q),
            ' ',
            features(q).map((f) => pill(f)),
          ),
        ),
        h(
          'div.page-tools',
          h('button.warn', { type: 'button', 'data-action': 'purge', onclick: purge }, 'Purge'),
          h(
            'button.danger',
            { type: 'button', 'data-action': 'delete', onclick: remove },
            'Delete',
          ),
        ),
      ),
    );
    const ms = q.message_stats ?? {};
    replace(
      summary,
      tile('Ready', h('span', { 'data-ready': '' }, num(q.messages_ready))),
      tile('Unacked', num(q.messages_unacknowledged)),
      tile('Total', h('span', { 'data-total': '' }, num(q.messages))),
      tile('Consumers', num(q.consumers)),
      tile('In', rate(detail(ms, 'publish') ?? 0)),
      tile('Out', rate(detail(ms, 'deliver_get') ?? 0)),
    );
    const args = Object.entries(q.arguments ?? {});
    replace(
      details,
      kv([
        ['Vhost', vhost],
        ['Durable', String(Boolean(q.durable))],
        ['Auto delete', String(Boolean(q.auto_delete))],
        ['Exclusive', String(Boolean(q.exclusive))],
        q.node ? ['Node', q.node] : null,
        q.policy ? ['Policy', q.policy] : null,
        q.memory !== undefined ? ['Memory', num(q.memory)] : null,
      ]),
      h('h3', 'Arguments'),
      args.length
        ? kv(args.map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]))
        : h('p.muted', 'none'),
    );
    const cd = Array.isArray(q.consumer_details) ? q.consumer_details : [];
    replace(
      consumers,
      table({
        columns: [
          { key: 'tag', label: 'Tag', value: (c) => c.consumer_tag },
          { key: 'ch', label: 'Channel', value: (c) => c.channel_details?.name ?? '–' },
          { key: 'ack', label: 'Ack', value: (c) => (c.ack_required ? 'manual' : 'auto') },
          { key: 'pf', label: 'Prefetch', num: true, value: (c) => c.prefetch_count ?? 0 },
        ],
        rows: cd,
        empty: 'No consumers.',
      }),
    );
    replace(
      bindings,
      table({
        columns: [
          { key: 'src', label: 'From', value: (b) => (b.source === '' ? '(default)' : b.source) },
          { key: 'rk', label: 'Routing key', value: (b) => b.routing_key },
          {
            key: 'args',
            label: 'Arguments',
            value: (b) =>
              Object.keys(b.arguments ?? {}).length ? JSON.stringify(b.arguments) : '',
          },
        ],
        rows: bs,
        empty: 'No bindings.',
      }),
    );
    paintDlq();
  }

  const hasDeaths = () => lastPeek.some((m) => Array.isArray(m.properties?.headers?.['x-death']));

  const dlqSources = h('p');
  const dlqTo = h('input', {
    name: 'to',
    placeholder: 'back where each came from',
    'aria-label': 'Redrive to queue',
  });
  const dlqResult = h('div', { 'data-redrive-result': '' });
  const dlqButton = h('button', { type: 'submit', 'data-action': 'redrive' }, 'Redrive all');
  dlq.append(
    h(
      'section.card.dlq',
      h('h2', 'Dead-letter queue'),
      dlqSources,
      h(
        'form.inline',
        {
          onsubmit: async (e) => {
            e.preventDefault();
            dlqButton.disabled = true;
            const to = dlqTo.value.trim();
            const r = await attempt(
              () => post(`${base}/redrive`, to === '' ? {} : { to }),
              'Redrive',
            );
            dlqButton.disabled = false;
            if (!r) return;
            replace(dlqResult, redriveResult(r));
            toast(`Redrive: ${num(r.moved)} moved, ${num(r.skipped)} skipped`);
            lastPeek = [];
            replace(messages);
            void load();
            void refreshLive();
          },
        },
        h('label', 'Redrive to', dlqTo),
        dlqButton,
      ),
      dlqResult,
    ),
  );

  function paintDlq() {
    const on = sources.length > 0 || hasDeaths() || dlqResult.childElementCount > 0;
    dlq.hidden = !on;
    replace(
      dlqSources,
      sources.length
        ? [
            'Receives dead letters from ',
            sources.map((s, i) => [
              i ? ', ' : '',
              h('a', { href: `#/queues/${seg(vhost)}/${seg(s)}` }, s),
            ]),
            '. Redrive moves each message back to the queue it died in (or to the queue you name).',
          ]
        : 'Its messages carry x-death headers: they were dead-lettered from another queue. Redrive moves each back to the queue it died in (or to the queue you name).',
    );
  }

  function peekForm() {
    const count = h('input', {
      type: 'number',
      min: 1,
      max: 500,
      value: '10',
      'aria-label': 'How many',
      class: 'count',
    });
    const run = async (ackmode, what) => {
      const n =
        ackmode === 'reject_requeue_true'
          ? Math.max(1, Math.min(500, Number(count.value) || 10))
          : 1;
      const list = await attempt(
        () => post(`${base}/get`, { count: n, ackmode, encoding: 'auto', truncate: 50000 }),
        what,
      );
      if (!list) return;
      lastPeek = list;
      replace(
        messages,
        list.length === 0
          ? h('p.muted', { 'data-empty': '' }, 'The queue has no ready messages.')
          : [
              ackmode === 'reject_requeue_true'
                ? null
                : h('p', pill('removed', 'warn'), ' this message was taken off the queue (acked).'),
              list.map(messageView),
            ],
      );
      paintDlq();
      void load();
    };
    return h(
      'div.toolbar',
      h(
        'button',
        {
          type: 'button',
          'data-action': 'peek',
          onclick: () => run('reject_requeue_true', 'Peek'),
        },
        'Peek',
      ),
      count,
      h('span.muted', 'leaves them queued (counts as a delivery where x-delivery-limit is set)'),
      h('span.spacer'),
      h(
        'button.ghost',
        { type: 'button', 'data-action': 'get', onclick: () => run('ack_requeue_false', 'Get') },
        'Get 1 (ack)',
      ),
    );
  }

  function publishForm() {
    const body = h('textarea', {
      name: 'payload',
      rows: 5,
      placeholder: '{"hello": "world"}',
      'aria-label': 'Body',
    });
    const contentType = h('input', { name: 'content_type', placeholder: 'application/json' });
    const messageId = h('input', { name: 'message_id' });
    const correlationId = h('input', { name: 'correlation_id' });
    const headers = h('textarea', {
      name: 'headers',
      rows: 3,
      placeholder: 'key: value (one per line) or a JSON object',
    });
    const persistent = h('input', { type: 'checkbox', name: 'persistent', checked: true });
    const err = h('p.error', { hidden: true, role: 'alert' });
    return h(
      'form.publish',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          err.hidden = true;
          let hdrs;
          try {
            hdrs = parseHeaders(headers.value);
          } catch (e2) {
            replace(err, e2.message);
            err.hidden = false;
            return;
          }
          const properties = { delivery_mode: persistent.checked ? 2 : 1 };
          if (contentType.value) properties.content_type = contentType.value;
          if (messageId.value) properties.message_id = messageId.value;
          if (correlationId.value) properties.correlation_id = correlationId.value;
          if (Object.keys(hdrs).length) properties.headers = hdrs;
          const r = await attempt(
            () =>
              post(`exchanges/${seg(vhost)}/amq.default/publish`, {
                properties,
                routing_key: name,
                payload: body.value,
                payload_encoding: 'string',
              }),
            'Publish',
          );
          if (!r) return;
          if (r.routed === false)
            toast('Published, but the message was not routed to any queue', 'error');
          else toast(`Published to ${name}`);
          void load();
          void refreshLive();
        },
      },
      h('p.muted', 'Through the default exchange, routing key ', h('code', name), '.'),
      h('label', 'Body', body),
      h(
        'div.form-row',
        h('label', 'Content type', contentType),
        h('label', 'Message id', messageId),
        h('label', 'Correlation id', correlationId),
      ),
      h('label', 'Headers', headers),
      h('label.check', persistent, ' Persistent (delivery mode 2)'),
      err,
      h('button', { type: 'submit', 'data-action': 'publish' }, 'Publish'),
    );
  }

  async function purge() {
    if (
      !(await confirmDialog(
        `Purge ${name}?`,
        `Every ready message in queue '${name}' (vhost '${vhost}') is deleted. This cannot be undone.`,
        'Purge',
      ))
    )
      return;
    try {
      await del(`${base}/contents`);
      toast(`Purged ${name}`);
    } catch (err) {
      toast(`Purge failed: ${err.message}`, 'error');
    }
    lastPeek = [];
    replace(messages);
    void load();
    void refreshLive();
  }

  async function remove() {
    if (
      !(await confirmDialog(
        `Delete ${name}?`,
        `Queue '${name}' and all its messages are deleted; its consumers are cancelled.`,
        'Delete',
      ))
    )
      return;
    try {
      await del(base);
      toast(`Deleted ${name}`);
      void refreshLive();
      location.hash = '#/queues';
    } catch (err) {
      toast(`Delete failed: ${err.message}`, 'error');
    }
  }

  void load();
  const timer = setInterval(() => void load(), 5000);
  return () => clearInterval(timer);
}

/** 'k: v' lines or a JSON object; numbers stay strings unless JSON says otherwise. */
export function parseHeaders(text) {
  const t = text.trim();
  if (t === '') return {};
  if (t.startsWith('{')) {
    let o;
    try {
      o = JSON.parse(t);
    } catch (err) {
      throw new Error(`headers are not valid JSON: ${err.message}`);
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o))
      throw new Error('headers must be a JSON object');
    return o;
  }
  const out = {};
  for (const line of t.split('\n')) {
    if (line.trim() === '') continue;
    const i = line.indexOf(':');
    if (i <= 0) throw new Error(`header line '${line.trim()}' is not 'name: value'`);
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function redriveResult(r) {
  const by = r.skippedBy && typeof r.skippedBy === 'object' ? Object.entries(r.skippedBy) : [];
  const to = r.movedTo && typeof r.movedTo === 'object' ? Object.entries(r.movedTo) : [];
  return h(
    'div.result',
    h('p', h('strong', `${num(r.moved)} moved`), `, ${num(r.skipped)} skipped.`),
    to.length ? kv(to.map(([q, n]) => [`→ ${q}`, num(n)])) : null,
    by.length
      ? h('div', h('h3', 'Skipped because'), kv(by.map(([why, n]) => [why, num(n)])))
      : null,
  );
}

// Trace: a message's life by message-id as a timeline, and the per-vhost tracing switch.

import { ApiError, get, isMissingEndpoint, put, seg } from '../api.js';
import { h, replace } from '../dom.js';
import { time } from '../format.js';
import { card, errorBox, pageHead, pill, toast } from '../ui.js';

const KIND = {
  published: 'ok',
  routed: 'ok',
  delivered: 'ok',
  acked: 'ok',
  nacked: 'warn',
  rejected: 'warn',
  requeued: 'warn',
  returned: 'warn',
  expired: 'bad',
  'dead-lettered': 'bad',
  dead_lettered: 'bad',
  redriven: 'warn',
  dropped: 'bad',
};

const eventName = (e) => String(e.event ?? e.type ?? e.kind ?? e.name ?? 'event');
const eventTime = (e) => e.at ?? e.time ?? e.timestamp ?? e.ts;

/** An event field for people: the default exchange named, lists comma-separated. */
function show(key, v) {
  if (key === 'exchange' && v === '') return '(default)';
  if (Array.isArray(v)) return v.join(', ');
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function eventView(e) {
  const name = eventName(e);
  const rest = Object.entries(e).filter(
    ([k]) => !['event', 'type', 'kind', 'name', 'at', 'time', 'timestamp', 'ts'].includes(k),
  );
  return h(
    'li.event',
    { 'data-event': name },
    h('span.dot', { class: KIND[name] ?? '' }),
    h(
      'div',
      h('div', pill(name, KIND[name] ?? ''), ' ', h('span.muted', time(eventTime(e)))),
      rest.length
        ? h(
            'div.event-detail',
            rest.map(([k, v]) =>
              h('span', h('span.muted', `${k.replace(/_/g, ' ')} `), h('code', show(k, v))),
            ),
          )
        : null,
    ),
  );
}

export function tracePage(main, params = {}) {
  const vhostSel = h(
    'select',
    { name: 'vhost', 'aria-label': 'Vhost' },
    h('option', { value: params.vhost ?? '/' }, params.vhost ?? '/'),
  );
  const id = h('input', {
    name: 'message_id',
    placeholder: 'message-id',
    required: true,
    value: params.id ?? '',
    'aria-label': 'Message id',
  });
  const timeline = h('div', { 'data-timeline': '' });
  const switches = h('div', h('p.muted', 'Loading…'));
  const recent = h('div', { 'data-recent': '' });
  main.append(
    pageHead('Trace a message'),
    h(
      'div.grid-2',
      card(
        'Find by message-id',
        h(
          'form.inline',
          {
            onsubmit: (e) => {
              e.preventDefault();
              location.hash = `#/trace/${seg(vhostSel.value)}/${seg(id.value.trim())}`;
            },
          },
          h('label', 'Vhost', vhostSel),
          h('label.grow', 'Message id', id),
          h('button', { type: 'submit' }, 'Show'),
        ),
        timeline,
      ),
      card(
        'Tracing',
        h(
          'p.muted',
          'Messages are traced only while tracing is on in their vhost (RabbitMQ’s firehose, amq.rabbitmq.trace).',
        ),
        switches,
        recent,
      ),
    ),
  );

  const loadVhosts = async () => {
    let vhosts;
    try {
      vhosts = await get('vhosts');
    } catch (err) {
      replace(switches, errorBox(err));
      return;
    }
    const current = vhostSel.value;
    replace(
      vhostSel,
      vhosts.map((v) => h('option', { value: v.name, selected: v.name === current }, v.name)),
    );
    replace(
      switches,
      h(
        'ul.plain',
        vhosts.map((v) => {
          const box = h('input', {
            type: 'checkbox',
            checked: Boolean(v.tracing),
            'data-tracing': v.name,
            onchange: async () => {
              box.disabled = true;
              try {
                await put(`vhosts/${seg(v.name)}`, { tracing: box.checked });
                toast(`Tracing ${box.checked ? 'on' : 'off'} for vhost ${v.name}`);
                void loadVhosts().then(loadRecent);
              } catch (err) {
                box.checked = !box.checked;
                toast(`Could not switch tracing: ${err.message}`, 'error');
              }
              box.disabled = false;
            },
          });
          return h(
            'li',
            h(
              'label.check',
              box,
              ' ',
              h('code', v.name),
              ' ',
              v.tracing ? pill('tracing', 'ok') : null,
            ),
          );
        }),
      ),
    );
  };
  const loadRecent = async () => {
    const v = vhostSel.value;
    try {
      const r = await get(`baton/trace/${seg(v)}`);
      const list = Array.isArray(r?.messages) ? r.messages.slice(-20).reverse() : [];
      replace(
        recent,
        h('h3', `Recently traced in ${v}`),
        list.length
          ? h(
              'ul.plain',
              list.map((m) =>
                h(
                  'li',
                  h(
                    'a',
                    { href: `#/trace/${seg(v)}/${seg(m.message_id)}` },
                    h('code', m.message_id),
                  ),
                  ' ',
                  pill(m.last_event ?? ''),
                  h('span.muted', ` ${time(m.last_time)}`),
                ),
              ),
            )
          : h('p.muted', 'No traced messages with a message-id yet.'),
      );
    } catch (err) {
      replace(recent, isMissingEndpoint(err) ? null : h('p.muted', err.message));
    }
  };
  vhostSel.addEventListener('change', () => void loadRecent());
  void loadVhosts().then(loadRecent);

  if (params.id !== undefined) {
    replace(timeline, h('p.muted', 'Loading…'));
    get(`baton/trace/${seg(params.vhost)}/messages/${seg(params.id)}`).then(
      (r) => {
        const events = Array.isArray(r) ? r : Array.isArray(r?.events) ? r.events : [];
        replace(
          timeline,
          events.length
            ? h('ol.timeline', events.map(eventView))
            : h(
                'p.muted',
                `No events recorded for message-id '${params.id}' in vhost '${params.vhost}'.`,
              ),
        );
      },
      (err) => {
        let msg;
        if (isMissingEndpoint(err))
          msg = h(
            'p.notice',
            'Tracing is not available on this broker: it has no message-trace endpoint (GET /api/baton/trace/…).',
          );
        else if (err instanceof ApiError && err.status === 404)
          msg = h(
            'p.notice',
            `No trace for message-id '${params.id}' in vhost '${params.vhost}': `,
            err.message,
            '. Is tracing on for this vhost, and was the message published since?',
          );
        else msg = errorBox(err);
        replace(timeline, msg);
      },
    );
  }
}

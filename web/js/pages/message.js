// One message as the API's get returns it: routing, properties, headers (x-death as a table),
// and a body preview that can switch between text and base64.

import { h, replace } from '../dom.js';
import { bytes, num, time } from '../format.js';
import { kv, pill } from '../ui.js';

export function toBase64(u8) {
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000)
    s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The body as text and as base64, whichever encoding the server chose. */
function bodyForms(m) {
  const payload = String(m.payload ?? '');
  if (m.payload_encoding === 'base64') {
    let text;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(fromBase64(payload));
    } catch {
      text = undefined;
    }
    return { text, b64: payload };
  }
  return { text: payload, b64: toBase64(new TextEncoder().encode(payload)) };
}

function pretty(text) {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return text;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return text;
  }
}

function value(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'object') return h('code', JSON.stringify(v));
  return String(v);
}

/** x-death entries, newest first as RabbitMQ keeps them. */
export function xDeathTable(deaths) {
  return h(
    'div.table-wrap',
    h(
      'table.list.xdeath',
      h(
        'thead',
        h(
          'tr',
          ['Queue', 'Reason', 'Count', 'Time', 'Exchange', 'Routing keys'].map((c) => h('th', c)),
        ),
      ),
      h(
        'tbody',
        deaths.map((d) =>
          h(
            'tr',
            h('td', { 'data-label': 'Queue' }, String(d.queue ?? '–')),
            h(
              'td',
              { 'data-label': 'Reason' },
              pill(String(d.reason ?? '?'), d.reason === 'rejected' ? 'warn' : 'bad'),
            ),
            h('td.num', { 'data-label': 'Count' }, num(Number(d.count))),
            h('td', { 'data-label': 'Time' }, time(d.time)),
            h(
              'td',
              { 'data-label': 'Exchange' },
              d.exchange === '' ? '(default)' : String(d.exchange ?? '–'),
            ),
            h(
              'td',
              { 'data-label': 'Routing keys' },
              (Array.isArray(d['routing-keys']) ? d['routing-keys'] : []).join(', ') || '–',
            ),
          ),
        ),
      ),
    ),
  );
}

export function messageView(m, i) {
  const props = { ...(m.properties ?? {}) };
  const headers = props.headers ?? {};
  delete props.headers;
  const deaths = Array.isArray(headers['x-death']) ? headers['x-death'] : [];
  const otherHeaders = Object.entries(headers).filter(([k]) => k !== 'x-death');
  const forms = bodyForms(m);
  let mode = forms.text === undefined ? 'base64' : 'text';
  const pre = h('pre.body');
  const toggle = h('button.ghost.small', { type: 'button', 'data-body-toggle': '' });
  const paint = () => {
    replace(pre, mode === 'text' ? pretty(forms.text ?? '') : forms.b64);
    replace(toggle, mode === 'text' ? 'Show base64' : 'Show text');
    toggle.disabled = forms.text === undefined;
  };
  toggle.addEventListener('click', () => {
    mode = mode === 'text' ? 'base64' : 'text';
    paint();
  });
  paint();
  return h(
    'details.message',
    { 'data-message': String(i), open: i === 0 },
    h(
      'summary',
      h('strong', `#${i + 1}`),
      ' ',
      h('span.muted', 'routing key '),
      h('code', m.routing_key ?? ''),
      h('span.muted', ' via '),
      h('code', m.exchange === '' ? '(default)' : (m.exchange ?? '')),
      props.message_id !== undefined
        ? [h('span.muted', ' id '), h('code', String(props.message_id))]
        : null,
      m.redelivered ? pill('redelivered', 'warn') : null,
      deaths.length ? pill('dead-lettered', 'bad') : null,
      h('span.muted.right', bytes(m.payload_bytes)),
    ),
    h(
      'div.msg-grid',
      h(
        'div',
        h('h3', 'Properties'),
        Object.keys(props).length
          ? kv(Object.entries(props).map(([k, v]) => [k, value(v)]))
          : h('p.muted', 'none'),
      ),
      h(
        'div',
        { 'data-headers': '' },
        h('h3', 'Headers'),
        otherHeaders.length
          ? kv(otherHeaders.map(([k, v]) => [k, value(v)]))
          : h('p.muted', deaths.length ? 'only x-death' : 'none'),
      ),
    ),
    deaths.length
      ? h('div.xdeath-box', { 'data-xdeath': '' }, h('h3', 'x-death'), xDeathTable(deaths))
      : null,
    h(
      'div.body-head',
      h('h3', 'Body'),
      m.payload_encoding === 'base64' ? pill('binary', 'warn') : null,
      toggle,
    ),
    pre,
  );
}

// Shared widgets: toasts, the confirm dialog, error boxes, key-value lists and sortable tables
// that turn into cards on a phone.

import { $, h, replace } from './dom.js';

/** A short message in the corner; `kind` is 'ok' or 'error'. Errors stay until dismissed. */
export function toast(text, kind = 'ok') {
  const box = $('[data-toasts]');
  const el = h(
    `div.toast.${kind}`,
    { role: kind === 'error' ? 'alert' : 'status' },
    h('span', text),
    h('button.ghost', { type: 'button', 'aria-label': 'Dismiss', onclick: () => el.remove() }, '×'),
  );
  box.append(el);
  if (kind !== 'error') setTimeout(() => el.remove(), 6000);
}

/** Runs `fn`, showing its failure as an error toast; returns its result or undefined. */
export async function attempt(fn, what) {
  try {
    return await fn();
  } catch (err) {
    toast(`${what} failed: ${err.message}`, 'error');
    return undefined;
  }
}

/** Asks before a destructive action; resolves true when confirmed. */
export function confirmDialog(title, text, okLabel = 'Confirm') {
  const dlg = $('[data-confirm]');
  replace($('[data-confirm-title]', dlg), title);
  replace($('[data-confirm-text]', dlg), text);
  replace($('[data-confirm-ok]', dlg), okLabel);
  dlg.returnValue = '';
  dlg.showModal();
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
  });
}

export function errorBox(err, prefix = 'Could not load') {
  return h('div.error', { role: 'alert' }, h('strong', `${prefix}: `), err.message ?? String(err));
}

export function pageHead(title, ...extra) {
  return h('div.page-head', h('h1', title), h('div.page-tools', extra));
}

/** A definition list of [label, value] pairs (values may be nodes). */
export function kv(pairs) {
  return h(
    'dl.kv',
    pairs
      .filter(Boolean)
      .flatMap(([k, v]) => [h('dt', k), h('dd', v === undefined || v === '' ? '–' : v)]),
  );
}

export function pill(text, kind = '') {
  return h(`span.pill${kind ? '.' + kind : ''}`, text);
}

export function card(title, ...body) {
  return h('section.card', title ? h('h2', title) : null, body);
}

/**
 * A sortable table. columns: {key, label, value(row) → sortable, render?(row) → node|text,
 * num?: bool}. On narrow screens each row becomes a card labelled by `data-label`.
 * @param {{columns: any[], rows: any[], sort?: {key: string, dir: number}, onSort?: (s: any) => void, empty?: string, rowKey?: (r: any) => string}} o
 */
export function table(o) {
  const sort = o.sort;
  const rows = [...o.rows];
  if (sort) {
    const col = o.columns.find((c) => c.key === sort.key);
    if (col)
      rows.sort((a, b) => {
        const x = col.value(a);
        const y = col.value(b);
        const c =
          typeof x === 'number' && typeof y === 'number'
            ? x - y
            : String(x ?? '').localeCompare(String(y ?? ''));
        return c * sort.dir;
      });
  }
  const head = h(
    'tr',
    o.columns.map((c) => {
      const active = sort?.key === c.key;
      const label = o.onSort
        ? h(
            'button.sort',
            {
              type: 'button',
              onclick: () => o.onSort({ key: c.key, dir: active ? -sort.dir : c.num ? -1 : 1 }),
            },
            c.label,
            active ? (sort.dir > 0 ? ' ▲' : ' ▼') : '',
          )
        : c.label;
      return h(
        'th',
        {
          class: c.num ? 'num' : '',
          'aria-sort': active ? (sort.dir > 0 ? 'ascending' : 'descending') : undefined,
        },
        label,
      );
    }),
  );
  const body = rows.map((r) =>
    h(
      'tr',
      { dataset: o.rowKey ? { key: o.rowKey(r) } : {} },
      o.columns.map((c) =>
        h(
          'td',
          { class: c.num ? 'num' : '', 'data-label': c.label },
          h('span.cell', c.render ? c.render(r) : String(c.value(r) ?? '–')),
        ),
      ),
    ),
  );
  if (rows.length === 0)
    body.push(
      h('tr.empty', h('td', { colspan: o.columns.length }, o.empty ?? 'Nothing here yet.')),
    );
  return h('div.table-wrap', h('table.list', h('thead', head), h('tbody', body)));
}

/** Big number tiles for the overview. */
export function tile(label, value, sub) {
  return h(
    'div.tile',
    h('div.tile-value', value),
    h('div.tile-label', label),
    sub ? h('div.tile-sub', sub) : null,
  );
}

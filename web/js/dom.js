// Tiny DOM builder: every text goes in as a text node, so broker data (queue names, message
// bodies, headers) can never inject markup.

/**
 * h('div.card#x', {onclick, class, dataset, ...attrs}, ...children)
 * @param {string} tag
 * @param {Record<string, unknown> | Node | string | number | null | undefined | unknown[]} [props]
 * @param {...unknown} children
 */
export function h(tag, props, ...children) {
  const [name, ...rest] = tag.split('.');
  let id;
  let base = name;
  if (base.includes('#')) [base, id] = base.split('#');
  const el = document.createElement(base || 'div');
  if (id) el.id = id;
  if (rest.length) el.className = rest.join(' ');
  if (
    props !== null &&
    typeof props === 'object' &&
    !(props instanceof Node) &&
    !Array.isArray(props)
  ) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = [el.className, v].filter(Boolean).join(' ');
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value') el.value = v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  } else if (props !== undefined) children.unshift(props);
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export const $ = (sel, root = document) => root.querySelector(sel);

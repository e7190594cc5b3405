// A hand-drawn SVG time-series chart: lines with a light fill, a nice y scale, minute ticks,
// and a legend that shows the latest values (or those under the pointer).

import { h, replace, s } from './dom.js';
import { clock, compact } from './format.js';

/** Rounds up to 1, 2, 2.5 or 5 × 10^n so axis ticks read well. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/**
 * A live chart bound to a container element.
 * @param {HTMLElement} host
 * @param {{title: string, unit?: string, series: {key: string, label: string}[], windowMs?: number, format?: (n: number) => string}} opts
 */
export function createChart(host, opts) {
  const windowMs = opts.windowMs ?? 5 * 60_000;
  const fmt = opts.format ?? compact;
  const svgHost = h('div.chart-plot');
  const legend = h('ul.legend');
  const figure = h(
    'figure.chart',
    { 'data-chart': opts.title },
    h(
      'figcaption',
      h('span.chart-title', opts.title),
      opts.unit ? h('span.muted', ` ${opts.unit}`) : null,
    ),
    svgHost,
    legend,
  );
  replace(host, figure);
  /** @type {{t: number, v: Record<string, number>}[]} */
  let samples = [];
  let hover;

  const legendFor = (sample) =>
    opts.series.map((se, i) =>
      h(
        'li',
        h(`span.swatch.c${i + 1}`),
        h('span.legend-label', se.label),
        h('span.legend-value', sample ? fmt(sample.v[se.key] ?? 0) : '–'),
      ),
    );

  function draw() {
    const W = Math.max(240, svgHost.clientWidth || 600);
    const H = Math.max(140, svgHost.clientHeight || 180);
    const L = 44;
    const R = 8;
    const T = 8;
    const B = 20;
    const now = samples.length ? samples[samples.length - 1].t : Date.now();
    const t0 = now - windowMs;
    let max = 0;
    for (const x of samples) for (const se of opts.series) max = Math.max(max, x.v[se.key] ?? 0);
    const yMax = niceMax(max);
    const X = (t) => L + ((t - t0) / windowMs) * (W - L - R);
    const Y = (v) => T + (1 - v / yMax) * (H - T - B);
    const svg = s('svg', {
      viewBox: `0 0 ${W} ${H}`,
      width: W,
      height: H,
      role: 'img',
      'aria-label': `${opts.title} over the last ${Math.round(windowMs / 60000)} minutes`,
    });
    for (let i = 0; i <= 4; i++) {
      const v = (yMax * i) / 4;
      const y = Y(v);
      svg.append(s('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'grid' }));
      svg.append(s('text', { x: L - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, fmt(v)));
    }
    const minute = 60_000;
    for (let t = Math.ceil(t0 / minute) * minute; t <= now; t += minute) {
      const x = X(t);
      svg.append(s('line', { x1: x, x2: x, y1: T, y2: H - B, class: 'grid' }));
      svg.append(
        s('text', { x, y: H - 5, class: 'axis', 'text-anchor': 'middle' }, clock(t).slice(0, 5)),
      );
    }
    const shown = samples.filter((x) => x.t >= t0);
    opts.series.forEach((se, i) => {
      if (shown.length === 0) return;
      const pts = shown.map((x) => `${X(x.t).toFixed(1)},${Y(x.v[se.key] ?? 0).toFixed(1)}`);
      const first = X(shown[0].t).toFixed(1);
      const last = X(shown[shown.length - 1].t).toFixed(1);
      svg.append(
        s('path', {
          d: `M${first},${Y(0)} L${pts.join(' L')} L${last},${Y(0)} Z`,
          class: `area c${i + 1}`,
        }),
      );
      svg.append(s('path', { d: `M${pts.join(' L')}`, class: `line c${i + 1}` }));
    });
    if (hover) {
      const x = X(hover.t);
      svg.append(s('line', { x1: x, x2: x, y1: T, y2: H - B, class: 'cursor' }));
      svg.append(
        s('text', { x: Math.min(x + 4, W - 60), y: T + 12, class: 'axis' }, clock(hover.t)),
      );
    }
    if (shown.length < 2)
      svg.append(
        s(
          'text',
          { x: (L + W) / 2, y: H / 2, class: 'axis', 'text-anchor': 'middle' },
          'collecting samples…',
        ),
      );
    svg.addEventListener('pointermove', (e) => {
      const box = svg.getBoundingClientRect();
      const t = t0 + ((e.clientX - box.left - L) / (box.width - L - R)) * windowMs;
      let best;
      for (const x of shown) if (!best || Math.abs(x.t - t) < Math.abs(best.t - t)) best = x;
      if (best !== hover) {
        hover = best;
        draw();
      }
    });
    svg.addEventListener('pointerleave', () => {
      hover = undefined;
      draw();
    });
    replace(svgHost, svg);
    replace(legend, legendFor(hover ?? samples[samples.length - 1]));
  }

  const ro = new ResizeObserver(() => draw());
  ro.observe(svgHost);
  return {
    /** @param {{t: number, v: Record<string, number>}[]} next */
    update(next) {
      samples = next;
      draw();
    },
    destroy() {
      ro.disconnect();
    },
  };
}

// The dashboard shell: login, hash routing (#/queues/%2F/orders), the alarm banner, logout.

import { loggedInUser, logout, onUnauthorized } from './api.js';
import { $, h, replace } from './dom.js';
import { alarms, startLive, stopLive, subscribe } from './live.js';
import { loginPage } from './pages/login.js';
import { overviewPage } from './pages/overview.js';
import { queuesPage } from './pages/queues.js';
import { queuePage } from './pages/queue.js';
import { exchangesPage } from './pages/exchanges.js';
import { connectionsPage } from './pages/connections.js';
import { tracePage } from './pages/trace.js';

/** Routes: pattern segments; ':x' captures one (URL-decoded) segment. */
const ROUTES = [
  { path: [], nav: 'overview', title: 'Overview', page: overviewPage },
  { path: ['queues'], nav: 'queues', title: 'Queues', page: queuesPage },
  { path: ['queues', ':vhost', ':name'], nav: 'queues', title: 'Queue', page: queuePage },
  { path: ['exchanges'], nav: 'exchanges', title: 'Exchanges', page: exchangesPage },
  { path: ['connections'], nav: 'connections', title: 'Connections', page: connectionsPage },
  { path: ['trace'], nav: 'trace', title: 'Trace', page: tracePage },
  { path: ['trace', ':vhost', ':id'], nav: 'trace', title: 'Trace', page: tracePage },
];

let cleanup;

function match(hash) {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p !== '');
  for (const r of ROUTES) {
    if (r.path.length !== parts.length) continue;
    const params = {};
    let ok = true;
    r.path.forEach((p, i) => {
      if (p.startsWith(':')) {
        try {
          params[p.slice(1)] = decodeURIComponent(parts[i]);
        } catch {
          ok = false;
        }
      } else if (p !== parts[i]) ok = false;
    });
    if (ok) return { route: r, params };
  }
  return undefined;
}

function render(message) {
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  const main = $('#main');
  const header = $('header.top');
  const user = loggedInUser();
  if (user === undefined) {
    header.hidden = true;
    $('[data-alarms]').hidden = true;
    stopLive();
    cleanup = loginPage(main, { message, done: () => render() });
    return;
  }
  header.hidden = false;
  replace($('[data-user]'), user);
  startLive();
  const m = match(location.hash);
  for (const a of document.querySelectorAll('[data-nav]'))
    a.classList.toggle('active', m !== undefined && a.dataset.nav === m.route.nav);
  if (m === undefined) {
    replace(
      main,
      h(
        'div.card',
        h('h1', 'Not found'),
        h(
          'p',
          'No page at ',
          h('code', location.hash),
          '. ',
          h('a', { href: '#/' }, 'Go to the overview'),
        ),
      ),
    );
    return;
  }
  replace(main);
  const name = m.params.name ?? m.params.id;
  document.title = `${name ? `${name} · ` : ''}${m.route.title} · Baton`;
  window.scrollTo(0, 0);
  cleanup = m.route.page(main, m.params);
}

function showAlarms() {
  const box = $('[data-alarms]');
  const list = loggedInUser() === undefined ? [] : alarms();
  box.hidden = list.length === 0;
  replace(
    box,
    list.map((a) => h('div', h('strong', '⚠ '), a)),
  );
}

subscribe(showAlarms);
onUnauthorized((err) => render(`Signed out: ${err.message}`));
$('[data-logout]').addEventListener('click', () => {
  logout();
  render('You are logged out.');
});
window.addEventListener('hashchange', () => render());
render();

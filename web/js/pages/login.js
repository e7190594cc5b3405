// The login form: credentials are checked against the API, then kept in sessionStorage (this
// tab only, gone when it closes) and sent as basic auth.

import { login } from '../api.js';
import { h, replace } from '../dom.js';

export function loginPage(main, { message, done }) {
  const err = h('p.error', { role: 'alert', hidden: !message }, message ?? '');
  const user = h('input', {
    name: 'username',
    autocomplete: 'username',
    required: true,
    autofocus: true,
  });
  const pass = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const button = h('button', { type: 'submit' }, 'Log in');
  const form = h(
    'form.login',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        button.disabled = true;
        err.hidden = true;
        try {
          await login(user.value, pass.value);
          done();
        } catch (e2) {
          replace(err, `Login failed: ${e2.message}`);
          err.hidden = false;
          button.disabled = false;
          pass.select();
        }
      },
    },
    h(
      'div.login-brand',
      h('img', { src: 'favicon.svg', alt: '', width: 40, height: 40 }),
      h('h1', 'Baton'),
    ),
    h('p.muted', 'Sign in with a broker user (RabbitMQ-compatible management API).'),
    h('label', 'Username', user),
    h('label', 'Password', pass),
    err,
    button,
    h(
      'p.hint',
      'Default: ',
      h('code', 'guest'),
      ' / ',
      h('code', 'guest'),
      ' (allowed from localhost only).',
    ),
  );
  replace(main, h('div.login-wrap', form));
  user.focus();
}

import { api, session } from '../api.js';
import { h } from '../dom.js';

/** Sign in with an admin or analyst API key (Cdp:Admin:ApiKeys). The key stays in this tab's sessionStorage only. */
export async function signInPage(view, { query }) {
  const key = h('input', { type: 'password', id: 'api-key', name: 'api-key', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const message = h('p', { class: 'form-error', id: 'signin-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'signin card', novalidate: true },
    h('h1', { tabindex: '-1' }, 'Sign in to Cdp'),
    h('p', { class: 'muted' }, 'Use an API key from Cdp:Admin:ApiKeys in appsettings.json. Analysts can look; admins can also change things.'),
    query.get('expired') ? h('p', { class: 'notice' }, 'Your key was not accepted any more. Sign in again.') : null,
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), key),
    message,
    submit);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    message.textContent = '';
    const value = key.value.trim();
    if (!value) { message.textContent = 'Enter an API key.'; key.focus(); return; }
    submit.disabled = true;
    try {
      const who = await api('/api/me', { key: value });
      session.signIn(value, who);
      const next = query.get('next');
      location.hash = next && !next.startsWith('/signin') ? '#' + next : '#/overview';
    } catch (err) {
      message.textContent = err.status === 401 ? 'This key was not accepted.' : err.detail || err.message;
      key.setAttribute('aria-invalid', 'true');
      key.focus();
    } finally {
      submit.disabled = false;
    }
  });
  view.append(form);
  key.focus();
}

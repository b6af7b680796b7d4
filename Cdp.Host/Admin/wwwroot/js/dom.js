// Small DOM helpers. Data is only ever put into the page as text nodes or attributes (never as HTML).

/** h('a', { href, class, onclick, dataset: {...}, 'aria-label': ... }, ...children) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled' || k === 'readOnly') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const number = new Intl.NumberFormat();

export const fmt = {
  num: n => (n === null || n === undefined ? '—' : number.format(n)),
  date: iso => (iso ? dateTime.format(new Date(iso)) : '—'),
  /** "3 min ago", "in 2 h" */
  ago(iso) {
    if (!iso) return '—';
    const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
    const abs = Math.abs(s);
    const text = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 172800 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86400)} days`;
    return s >= 0 ? `${text} ago` : `in ${text}`;
  },
  seconds: s => (s === null || s === undefined ? '—' : s < 1 ? `${Math.round(s * 1000)} ms` : s < 120 ? `${s.toFixed(1)} s` : `${Math.round(s / 60)} min`),
  pct: x => `${Math.round(x * 100)}%`,
};

/** A <time> with the absolute date and the relative one as its title, or the other way round. */
export function when(iso, relative = false) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: relative ? fmt.date(iso) : fmt.ago(iso) }, relative ? fmt.ago(iso) : fmt.date(iso));
}

export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}

/** Badge for a status word: ok / succeeded green, partial / stale / building amber, failed / error red. */
export function statusBadge(status) {
  const s = String(status || 'unknown');
  const kind = /^(ok|succeeded|accepted|entered|granted|in)$|^(ok|succeeded)/i.test(s) ? 'good'
    : /^(failed|error|rejected|exited|denied)/i.test(s) ? 'bad'
      : /^(partial|stale|building|running|pending|dry run)/i.test(s) ? 'warn' : '';
  return badge(s, kind);
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, text);
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

/** An error box; with retry, a "Try again" button. */
export function errorBox(err, retry) {
  const status = err?.status ? ` (${err.status})` : '';
  return h('div', { class: 'error-box', role: 'alert' },
    h('strong', null, err?.title && err.title !== err.detail ? err.title + status : 'Something went wrong' + status),
    h('p', null, err?.detail || err?.message || String(err)),
    retry ? h('button', { type: 'button', onclick: retry }, 'Try again') : null);
}

export function notAvailable(what) {
  return h('div', { class: 'notice', role: 'status' },
    h('strong', null, `${what} is not available in this version of Cdp.`),
    h('p', null, 'The server has no such endpoint yet. Upgrade Cdp to use this page.'));
}

/** Replaces box's children with nodes (arrays flattened; null, undefined and false left out). */
export function fill(box, ...nodes) {
  box.replaceChildren(...nodes.flat(Infinity).filter(n => n !== null && n !== undefined && n !== false));
  return box;
}

/** Runs an async renderer into box: a loading line first, then its result, or an error with "Try again". */
export async function into(box, render) {
  box.replaceChildren(loading());
  try {
    const node = await render();
    fill(box, node);
  } catch (err) {
    if (err?.name === 'AbortError') return;
    box.replaceChildren(errorBox(err, () => into(box, render)));
  }
}

/**
 * A table in a horizontally scrolling wrapper.
 * columns: [{ label, cell: row => node|string, class }]
 */
export function table(columns, rows, { empty: emptyText = 'Nothing here yet.', caption, rowClass } = {}) {
  if (!rows.length) return empty(emptyText);
  return h('div', { class: 'table-wrap' },
    h('table', null,
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, columns.map(c => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', null, rows.map(r => h('tr', { class: rowClass?.(r) }, columns.map(c => h('td', { class: c.class, 'data-label': c.label }, h('div', { class: 'cell' }, c.cell(r)))))))));
}

/** Definition list from [label, value] pairs. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v ?? '—')]));
}

/** "Newer / Older" paging buttons. */
export function pager({ onPrev, onNext, label }) {
  if (!onPrev && !onNext) return null;
  return h('nav', { class: 'pager', 'aria-label': label || 'Pages' },
    h('button', { type: 'button', disabled: !onPrev, onclick: onPrev }, '← Previous'),
    h('button', { type: 'button', disabled: !onNext, onclick: onNext }, 'Next →'));
}

export function section(title, ...children) {
  const id = 'h-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), children);
}

export function pageHeader(title, ...rest) {
  return h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, title), rest.length ? h('div', { class: 'actions' }, rest) : null);
}

export function toast(message, kind = '') {
  const box = document.getElementById('toasts');
  const t = h('div', { class: `toast ${kind}` }, message);
  box.append(t);
  setTimeout(() => t.remove(), 6000);
}

/** A modal confirmation; resolves true when confirmed. With typeToConfirm the user must type that text first. */
export function confirmDialog({ title, body, confirm = 'Confirm', danger = false, typeToConfirm }) {
  return new Promise(resolve => {
    const input = typeToConfirm ? h('input', { type: 'text', id: 'confirm-text', autocomplete: 'off', spellcheck: 'false' }) : null;
    const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', disabled: !!typeToConfirm }, confirm);
    if (input) input.addEventListener('input', () => { ok.disabled = input.value.trim() !== typeToConfirm; });
    const form = h('form', { method: 'dialog' },
      h('h2', null, title),
      [].concat(body).map(b => (typeof b === 'string' ? h('p', null, b) : b)),
      input ? h('label', { for: 'confirm-text' }, 'Type ', h('code', null, typeToConfirm), ' to confirm') : null,
      input,
      h('div', { class: 'actions' },
        h('button', { type: 'button', value: 'cancel', onclick: () => dialog.close('cancel') }, 'Cancel'),
        ok));
    const dialog = h('dialog', { class: 'confirm', 'aria-label': title }, form);
    form.addEventListener('submit', e => { e.preventDefault(); dialog.close('ok'); });
    dialog.addEventListener('close', () => { resolve(dialog.returnValue === 'ok'); dialog.remove(); });
    document.body.append(dialog);
    dialog.showModal();
    (input || ok).focus();
  });
}

/** Labelled form control. */
export function field(label, control, hint) {
  const id = control.id || (control.id = 'f-' + Math.random().toString(36).slice(2, 9));
  const hintEl = hint ? h('small', { class: 'hint', id: id + '-hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

/** A button that disables itself while its async action runs. */
export function actionButton(label, action, attrs = {}) {
  const b = h('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    b.setAttribute('aria-busy', 'true');
    try { await action(b); } finally { b.disabled = false; b.removeAttribute('aria-busy'); }
  });
  return b;
}

/** Pretty JSON in a <pre>. */
export function json(value) {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

/** Profile link: "#/profiles/p_1". */
export function profileLink(id, text) {
  return id ? h('a', { href: '#/profiles/' + encodeURIComponent(id) }, text || id) : h('span', { class: 'muted' }, '—');
}

/** A readable name from traits: name, first + last name, email, or the id. */
export function displayName(traits, id) {
  const t = traits || {};
  const full = t.name || [t.first_name ?? t.firstName, t.last_name ?? t.lastName].filter(Boolean).join(' ');
  return String(full || t.email || id || '—');
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

/** Renders a trait value: scalars as text, objects and arrays as compact JSON. */
export function value(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, 'null');
  if (typeof v === 'object') return h('code', null, JSON.stringify(v));
  return String(v);
}

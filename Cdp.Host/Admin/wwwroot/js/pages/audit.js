import { api, session, enc } from '../api.js';
import { h, fmt, into, fill, pageHeader, table, badge, empty } from '../dom.js';

// GET /api/audit answers oldest first, at most 1,000 a page, paged with nextCursor. People want the newest first, so the
// page loads a whole period (by default the last 24 hours) and shows it newest first, 50 rows at a time. A period with
// more than MAX_LOADED actions is cut after the earliest MAX_LOADED and says so, with a link to the later ones.
const TAKE = 1000;
const MAX_REQUESTS = 5;
const MAX_LOADED = TAKE * MAX_REQUESTS;
const ROWS = 50;
const HOUR = 3600_000;
const RANGES = {
  '1h': { label: 'Last hour', phrase: 'in the last hour', ms: HOUR },
  '24h': { label: 'Last 24 hours', phrase: 'in the last 24 hours', ms: 24 * HOUR },
  '7d': { label: 'Last 7 days', phrase: 'in the last 7 days', ms: 7 * 24 * HOUR },
  all: { label: 'Everything', phrase: 'kept', ms: null },
};
const DEFAULT_RANGE = '24h';

/** .NET ticks (100 ns since 0001-01-01) of the Unix epoch: record ids are UTC ticks. */
const EPOCH_TICKS = 621355968000000000n;
const stamp = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** Who did what through the admin API: newest first, filtered by actor and period. Admin only. */
export async function auditPage(view, { query }) {
  view.append(pageHeader('Audit log'));
  if (!session.isAdmin) {
    view.append(adminOnly());
    return;
  }
  const state = readState(query);
  const box = h('div', { id: 'audit' });
  view.append(
    h('p', { class: 'muted' }, 'Every change made through the admin API, every refused attempt and every read of personal data: who, what, when and how it ended.'),
    filters(state),
    h('section', { class: 'card', 'aria-label': 'Audit log' }, box));
  into(box, async () => {
    let loaded;
    try {
      loaded = await load(state);
    } catch (err) {
      if (err.status === 403) return adminOnly();
      throw err;
    }
    return results(state, loaded);
  });
}

function adminOnly() {
  const who = session.who;
  return h('div', { class: 'notice', role: 'status', id: 'audit-admin-only' },
    h('strong', null, 'The audit log is for admins only.'),
    h('p', null, `You are signed in as ${who?.name ?? 'someone'}${who?.role ? ' (' + who.role + ')' : ''}. Sign in with an admin key, or ask an admin to look up who did what.`));
}

function readState(query) {
  const from = query.get('from') || '';
  const to = query.get('to') || '';
  const custom = !!(from || to);
  const range = custom ? null : RANGES[query.get('range')] ? query.get('range') : DEFAULT_RANGE;
  const ms = range ? RANGES[range].ms : null;
  return {
    actor: query.get('actor') || '',
    range,
    from: custom ? from : ms ? new Date(Date.now() - ms).toISOString() : '',
    to,
    after: query.get('after') || '',
    hideReads: query.get('reads') === 'hide',
    customFrom: from,
    customTo: to,
  };
}

/** "#/audit?..." with the given state (empty values left out). */
function link({ actor, range, customFrom, customTo, after, hideReads }) {
  const p = new URLSearchParams();
  if (actor) p.set('actor', actor);
  if (hideReads) p.set('reads', 'hide');
  if (customFrom || customTo) {
    if (customFrom) p.set('from', customFrom);
    if (customTo) p.set('to', customTo);
  } else if (range && range !== DEFAULT_RANGE) p.set('range', range);
  if (after) p.set('after', after);
  const qs = p.toString();
  return '#/audit' + (qs ? '?' + qs : '');
}

function filters(state) {
  const actor = h('input', { type: 'text', id: 'audit-actor', name: 'actor', value: state.actor, placeholder: 'API key name, e.g. ops', autocomplete: 'off', spellcheck: 'false', list: 'audit-actors' });
  const from = h('input', { type: 'datetime-local', id: 'audit-from', name: 'from', value: toLocalInput(state.customFrom) });
  const to = h('input', { type: 'datetime-local', id: 'audit-to', name: 'to', value: toLocalInput(state.customTo) });
  const hideReads = h('input', { type: 'checkbox', id: 'audit-hide-reads', name: 'reads', checked: state.hideReads });
  const error = h('p', { class: 'form-error', id: 'audit-filter-error', role: 'alert' });
  const form = h('form', { class: 'search audit-filters', role: 'search', 'aria-label': 'Filter the audit log' },
    h('div', { class: 'field grow' }, h('label', { for: 'audit-actor' }, 'Who'), actor, h('datalist', { id: 'audit-actors' })),
    h('div', { class: 'field' }, h('label', { for: 'audit-from' }, 'From'), from),
    h('div', { class: 'field' }, h('label', { for: 'audit-to' }, 'To'), to),
    h('div', { class: 'field inline' }, hideReads, h('label', { for: 'audit-hide-reads' }, 'Hide successful reads')),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Filter'),
      state.actor || state.customFrom || state.customTo || state.hideReads || state.range !== DEFAULT_RANGE ? h('a', { class: 'button', href: '#/audit' }, 'Clear') : null));
  form.addEventListener('submit', e => {
    e.preventDefault();
    const f = fromLocalInput(from.value);
    const t = fromLocalInput(to.value);
    if (f && t && f >= t) {
      error.textContent = 'From must be before To.';
      from.setAttribute('aria-invalid', 'true');
      return;
    }
    // no times typed: keep the chosen period
    location.hash = link({ actor: actor.value.trim(), range: state.range ?? DEFAULT_RANGE, customFrom: f, customTo: t, hideReads: hideReads.checked });
  });
  const chips = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Period' },
    Object.entries(RANGES).map(([k, r]) => h('a', { class: 'chip', href: link({ actor: state.actor, hideReads: state.hideReads, range: k }), 'aria-current': k === state.range ? 'true' : null }, r.label)));
  return h('div', { class: 'card' }, chips, form, error);
}

async function load(state) {
  const base = `/api/audit?order=desc&limit=${TAKE}` + (state.actor ? '&actor=' + enc(state.actor) : '')
    + (state.from ? '&from=' + enc(state.from) : '') + (state.to ? '&to=' + enc(state.to) : '');
  const items = [];
  let cursor = state.after;
  let next = null;
  for (let i = 0; i < MAX_REQUESTS; i++) {
    const page = await api(base + (cursor ? '&cursor=' + enc(cursor) : ''));
    items.push(...page.items);
    next = page.nextCursor ?? null;
    if (!next) break;
    cursor = next;
  }
  return { items, more: next };
}

function results(state, { items: all, more }) {
  // the admin pages' own GETs of personal data are audited too; a person looking for changes can hide them
  const items = state.hideReads ? all.filter(r => !(r.method === 'GET' && r.status < 400)) : all;
  const denied = items.filter(r => outcomeKind(r.status) === 'denied').length;
  const failed = items.filter(r => r.status >= 500).length;
  const datalist = document.getElementById('audit-actors');
  if (datalist) datalist.replaceChildren(...[...new Set(all.map(r => r.actor))].sort().map(a => h('option', { value: a })));
  const period = state.customFrom || state.customTo
    ? `from ${state.customFrom ? fmt.date(state.customFrom) : 'the start'} to ${state.customTo ? fmt.date(state.customTo) : 'now'}`
    : RANGES[state.range].phrase;
  const summary = h('p', { class: 'audit-summary', id: 'audit-summary' },
    h('strong', null, `${fmt.num(items.length)} action${items.length === 1 ? '' : 's'}`),
    ` ${state.actor ? 'by ' + state.actor + ' ' : ''}${period}, newest first`,
    state.hideReads && all.length > items.length ? ` (${fmt.num(all.length - items.length)} successful reads hidden)` : null,
    denied ? [' · ', badge(`${denied} denied`, 'bad')] : null,
    failed ? [' · ', badge(`${failed} failed`, 'bad')] : null);
  const notices = [
    state.after ? h('div', { class: 'notice', role: 'status' },
      h('p', null, `Showing the actions before ${fmt.date(tickTime(state.after))} in this period. `, h('a', { href: link({ ...state, after: '' }) }, 'Back to the start of the period'))) : null,
    more ? h('div', { class: 'notice', role: 'status', id: 'audit-more' },
      h('p', null, `This period holds more than ${fmt.num(MAX_LOADED)} actions: these are the latest ${fmt.num(all.length)}, back to ${fmt.date(all[all.length - 1]?.at)}. Narrow the period, or `,
        h('a', { href: link({ ...state, after: more }) }, 'show the earlier actions'), '.')) : null,
  ];
  if (!items.length) {
    return [summary, notices, empty(all.length ? 'Only successful reads in this period: untick “Hide successful reads” to see them.'
      : state.actor ? `Nothing recorded for ${state.actor} in this period.` : 'Nothing recorded in this period.')];
  }
  const list = h('div', { id: 'audit-rows' });
  const show = start => {
    fill(list,
      auditTable(state, items.slice(start, start + ROWS)),
      items.length > ROWS ? h('nav', { class: 'pager', 'aria-label': 'Audit pages' },
        h('span', { class: 'muted small' }, `${fmt.num(start + 1)}–${fmt.num(Math.min(start + ROWS, items.length))} of ${fmt.num(items.length)}`),
        h('button', { type: 'button', disabled: start === 0, onclick: () => show(Math.max(0, start - ROWS)) }, '← Newer'),
        h('button', { type: 'button', disabled: start + ROWS >= items.length, onclick: () => show(start + ROWS) }, 'Older →')) : null);
  };
  show(0);
  return [summary, notices, list,
    h('p', { class: 'muted small' }, `Times are in your time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}); hover a time for UTC. Identifiers in paths are kept as a short hash.`)];
}

function auditTable(state, rows) {
  return table([
    { label: 'Time', cell: r => h('time', { datetime: r.at, title: r.at }, stamp.format(new Date(r.at))), class: 'nowrap' },
    { label: 'Who', cell: r => who(state, r) },
    { label: 'Action', cell: action },
    { label: 'Outcome', cell: r => outcome(r.status) },
    { label: 'Duration', cell: r => duration(r.durationMs), class: 'num' },
  ], rows, { rowClass: r => 'audit-' + outcomeKind(r.status) });
}

function who(state, r) {
  const only = link({ ...state, actor: r.actor, after: '' });
  const name = r.actor === '(none)'
    ? h('a', { href: only, class: 'muted', title: 'No valid API key' }, 'no valid key')
    : h('a', { href: only, title: `Only ${r.actor}'s actions` }, r.actor);
  return [name, r.role ? [' ', badge(r.role, 'role')] : null];
}

function action(r) {
  // the route pattern says what kind of action; the path (identifiers hashed) and query which thing
  const pattern = r.action && r.action.startsWith('/') ? (r.action.length > 1 ? r.action.replace(/\/$/, '') : r.action) : null;
  // without a key: where from; a summary record: how many requests it stands for and the busiest addresses
  const target = r.path + (r.query ? '?' + r.query : '')
    + (r.count != null ? ` (${r.count} requests: ${r.remote ?? ''})` : r.remote ? ` from ${r.remote}` : '');
  return [
    h('span', { class: 'method' }, r.method), ' ', h('code', { class: 'route' }, pattern ?? target),
    pattern && pattern !== target ? h('div', { class: 'muted small' }, h('code', null, target)) : null,
  ];
}

function outcomeKind(status) {
  if (status === 401 || status === 403 || status === 429) return 'denied';
  if (status === 0) return 'summary';
  if (status >= 500) return 'failed';
  if (status >= 400) return 'refused';
  return 'ok';
}

const OUTCOMES = {
  denied: { text: 'denied', kind: 'bad' },
  failed: { text: 'failed', kind: 'bad' },
  refused: { text: 'refused', kind: 'warn' },
  summary: { text: 'several', kind: 'warn' },
  ok: { text: 'ok', kind: 'good' },
};

const STATUS_TITLES = { 0: 'Requests not recorded one by one (without a key, or to unknown routes)', 429: 'Too many requests without a valid key', 401: 'No valid API key', 403: 'The key\'s role may not do this', 400: 'Bad input', 404: 'Not found', 409: 'Conflict' };

function outcome(status) {
  const o = OUTCOMES[outcomeKind(status)];
  const b = badge(`${status} ${o.text}`, o.kind + ' outcome');
  const title = STATUS_TITLES[status] ?? (status >= 500 ? 'Cdp failed while answering' : null);
  if (title) b.title = title;
  return b;
}

function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  return ms < 10 ? `${ms.toFixed(1)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** The time of a record id (UTC ticks) as ISO. */
function tickTime(id) {
  try { return new Date(Number((BigInt(id) - EPOCH_TICKS) / 10000n)).toISOString(); } catch { return null; }
}

/** ISO → the value of a datetime-local input (local time, minutes). */
function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

/** A datetime-local value (local time) → ISO UTC, or '' when empty. */
function fromLocalInput(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

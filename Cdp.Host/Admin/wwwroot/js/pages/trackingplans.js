import { api, enc } from '../api.js';
import { h, fmt, into, section, pageHeader, table, when, badge, empty, notAvailable } from '../dom.js';
import { barChart } from '../chart.js';

// GET /api/tracking-plans (the plans, their events and the sources checked against each) and
// GET /api/tracking-plans/violations (counted per hour by the server, masked examples). Readers may see both.
const RANGES = {
  '24h': { label: 'Last 24 hours', phrase: 'in the last 24 hours', per: 'hour', ms: 24 * 3600e3 },
  '7d': { label: 'Last 7 days', phrase: 'in the last 7 days', per: '6 hours', ms: 7 * 24 * 3600e3 },
  '30d': { label: 'Last 30 days', phrase: 'in the last 30 days', per: 'day', ms: 30 * 24 * 3600e3 },
};
const DEFAULT_RANGE = '24h';

const KINDS = {
  unplanned_event: { label: 'unplanned event', hint: 'a track event the plan does not list' },
  unplanned_property: { label: 'unplanned property', hint: 'a property or trait the plan does not list' },
  invalid_property: { label: 'invalid property', hint: 'a value the plan refuses (type, format, range, list of values)' },
  missing_property: { label: 'missing property', hint: 'a required property the call does not carry' },
};

/** What each mode does with a call: OnViolation (Report / Omit / Block) and OnUnplannedEvent (Report / Allow / Block). */
const MODES = {
  Report: { kind: 'warn', text: 'stored as sent, violations counted' },
  Omit: { kind: 'warn', text: 'stored without the offending properties' },
  Allow: { kind: 'good', text: 'stored, not counted' },
  Block: { kind: 'bad', text: 'dead-lettered' },
};

/** Violations of the sources' tracking plans over a period, filtered by source, event and kind, and the plans themselves. */
export async function trackingPlansPage(view, { query }) {
  const state = {
    range: RANGES[query.get('range')] ? query.get('range') : DEFAULT_RANGE,
    source: query.get('source') || '',
    event: query.get('event') || '',
    kind: KINDS[query.get('kind')] ? query.get('kind') : '',
  };
  const box = h('div', { id: 'tracking-plans' });
  view.append(pageHeader('Tracking plans'),
    h('p', { class: 'muted' }, 'Each source with a tracking plan has its calls checked against it: events the plan does not list, '
      + 'properties it does not list, values it refuses and required properties left out. Examples keep the value\'s shape, not the value.'),
    box);
  into(box, async () => {
    let plans, report;
    try {
      [{ plans }, report] = await Promise.all([api('/api/tracking-plans'), api(violationsUrl(state))]);
    } catch (err) {
      if (err.notAvailable) return notAvailable('Tracking plans');
      throw err;
    }
    const checked = plans.flatMap(p => p.sources);
    return [
      checked.length ? null : h('div', { class: 'notice', role: 'status', id: 'no-plans' },
        h('strong', null, 'No source has a tracking plan: see README, Tracking plans.'),
        h('p', null, plans.length
          ? 'Plans are configured, but no source points at one: set Cdp:Sources:<name>:TrackingPlan to a plan\'s name.'
          : 'Write a plan under Cdp:TrackingPlans (inline or a JSON file) and set Cdp:Sources:<name>:TrackingPlan to its name.')),
      violations(state, report, checked),
      section('Plans', plans.length ? plans.map(plan) : empty('No tracking plan is configured (Cdp:TrackingPlans).')),
    ];
  });
}

function violationsUrl({ range, source, event, kind }) {
  return `/api/tracking-plans/violations?range=${range}` + (source ? '&source=' + enc(source) : '')
    + (event ? '&event=' + enc(event) : '') + (kind ? '&kind=' + kind : '');
}

/** "#/tracking-plans?..." for the given state (defaults left out). */
function link({ range, source, event, kind }) {
  const p = new URLSearchParams();
  if (range && range !== DEFAULT_RANGE) p.set('range', range);
  if (source) p.set('source', source);
  if (event) p.set('event', event);
  if (kind) p.set('kind', kind);
  const qs = p.toString();
  return '#/tracking-plans' + (qs ? '?' + qs : '');
}

function kindBadge(kind) {
  const k = KINDS[kind];
  const b = badge(k ? k.label : kind, kind === 'invalid_property' || kind === 'missing_property' ? 'bad' : 'warn');
  if (k) b.title = k.hint;
  return b;
}

function violations(state, report, checked) {
  const range = RANGES[state.range];
  const filtered = state.source || state.event || state.kind;
  const chips = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Period' },
    Object.entries(RANGES).map(([k, r]) => h('a', { class: 'chip', href: link({ ...state, range: k }), 'aria-current': k === state.range ? 'true' : null }, r.label)));

  const sources = [...new Set([...checked.map(s => s.source), ...report.violations.map(v => v.source), state.source].filter(Boolean))].sort();
  const sourceSelect = h('select', { id: 'tp-source', name: 'source' },
    h('option', { value: '', selected: !state.source }, 'Every source'),
    sources.map(s => h('option', { value: s, selected: s === state.source }, s)));
  const kindSelect = h('select', { id: 'tp-kind', name: 'kind' },
    h('option', { value: '', selected: !state.kind }, 'Every kind'),
    Object.entries(KINDS).map(([k, d]) => h('option', { value: k, selected: k === state.kind }, d.label)));
  sourceSelect.value = state.source;
  kindSelect.value = state.kind;
  const go = () => { location.hash = link({ ...state, source: sourceSelect.value, kind: kindSelect.value }); };
  sourceSelect.addEventListener('change', go);
  kindSelect.addEventListener('change', go);
  const filters = h('form', { class: 'search tp-filters', role: 'search', 'aria-label': 'Filter the violations', onsubmit: e => { e.preventDefault(); go(); } },
    h('div', { class: 'field' }, h('label', { for: 'tp-source' }, 'Source'), sourceSelect),
    h('div', { class: 'field' }, h('label', { for: 'tp-kind' }, 'Kind'), kindSelect),
    state.event ? h('div', { class: 'field' }, h('span', { class: 'label' }, 'Event'),
      h('span', null, h('code', null, state.event), ' ', h('a', { href: link({ ...state, event: '' }) }, 'every event'))) : null,
    filtered ? h('div', { class: 'actions' }, h('a', { class: 'button', href: link({ range: state.range }) }, 'Clear filters')) : null);

  const cards = h('div', { class: 'cards', id: 'violation-totals', 'aria-label': 'Violations per kind' },
    figure('Violations', fmt.num(report.total), range.phrase, report.total ? 'warn' : 'good'),
    Object.entries(KINDS).map(([k, d]) => figure(d.label, fmt.num(report.byKind[k] ?? 0),
      h('a', { href: link({ ...state, kind: k }), title: d.hint }, state.kind === k ? 'shown below' : 'show only these'),
      report.byKind[k] ? (k === 'invalid_property' || k === 'missing_property' ? 'bad' : 'warn') : '')));

  const xFormat = range.ms > 7 * 24 * 3600e3 ? d => d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
    : range.ms > 24 * 3600e3 ? d => d.toLocaleDateString(undefined, { weekday: 'short', hour: '2-digit' })
      : d => d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const chart = report.total ? barChart({
    label: `Tracking plan violations per ${range.per}, ${range.phrase.replace(/^in the /, '')}`,
    buckets: report.buckets.map(b => ({ start: new Date(b.start), values: { count: b.count } })),
    series: [{ key: 'count', name: 'violations', cls: 'fill-c' }],
    xFormat,
  }) : null;

  const rows = h('div', { id: 'violations' },
    report.distinct > report.violations.length
      ? h('p', { class: 'muted small' }, `The ${fmt.num(report.violations.length)} most frequent of ${fmt.num(report.distinct)} different violations.`) : null,
    table([
      { label: 'Source', cell: v => v.source },
      { label: 'Event', cell: v => eventCell(state, v) },
      { label: 'Property', cell: v => (v.property ? h('code', null, v.property) : h('span', { class: 'muted' }, '—')), class: 'tp-property' },
      { label: 'Kind', cell: v => kindBadge(v.kind) },
      { label: 'Count', cell: v => fmt.num(v.count), class: 'num' },
      { label: 'Last seen', cell: v => when(v.lastSeen, true), class: 'nowrap' },
      { label: 'Example', cell: v => example(v.example) },
    ], report.violations, {
      empty: filtered ? `No violations matching these filters ${range.phrase}.`
        : checked.length ? `No violations ${range.phrase}: every call matched its source's plan.` : `No violations ${range.phrase}.`,
      rowClass: v => 'violation kind-' + v.kind,
    }));

  return h('section', { class: 'card', 'aria-labelledby': 'h-violations' },
    h('h2', { id: 'h-violations' }, 'Violations'), chips, filters, cards, chart, rows);
}

function figure(label, value, detail, kind = '') {
  return h('div', { class: `figure ${kind}` }, h('span', { class: 'label' }, label), h('strong', null, value), detail ? h('small', null, detail) : null);
}

function eventCell(state, v) {
  const name = v.event || v.type;
  const text = v.event ? [v.type !== 'track' ? v.type + ' ' : '', v.event] : h('span', { class: 'muted' }, v.type);
  return state.event === v.event || !v.event ? text
    : h('a', { href: link({ ...state, event: v.event }), title: `Only the violations of ${name}` }, text);
}

/** The latest example: its masked value with the value's type, the check's message and the call's messageId. */
function example(e) {
  if (!e) return h('span', { class: 'muted' }, '—');
  return h('div', { class: 'example' },
    e.value !== null && e.value !== undefined ? h('div', null, h('code', { class: 'example-value' }, e.value), e.valueType ? h('span', { class: 'muted small' }, ' ' + e.valueType) : null) : null,
    e.message ? h('div', { class: 'example-message' }, e.message) : null,
    e.messageId ? h('div', { class: 'muted small' }, 'messageId ', h('code', null, e.messageId)) : null);
}

function plan(p) {
  const id = 'plan-' + p.name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return h('article', { class: 'plan', id, 'aria-labelledby': id + '-name' },
    h('h3', { id: id + '-name' }, p.name),
    p.description ? h('p', null, p.description) : null,
    p.sources.length
      ? h('ul', { class: 'plan-sources', 'aria-label': `Sources checked against ${p.name}` }, p.sources.map(source))
      : h('p', { class: 'muted' }, 'No source points at this plan (Cdp:Sources:<name>:TrackingPlan).'),
    table([
      { label: 'Event', cell: e => h('strong', null, e.name) },
      { label: 'Description', cell: e => e.description || h('span', { class: 'muted' }, '—') },
      { label: 'Properties', cell: e => properties(e.properties, e.required) },
      { label: 'Context traits', cell: e => (e.checksContextTraits ? 'checked' : h('span', { class: 'muted' }, 'not checked')) },
    ], p.events, { empty: 'This plan lists no track event: every track event is unplanned.', caption: 'Events' }),
    traits('Identify traits', p.identifyTraits),
    traits('Group traits', p.groupTraits));
}

function source(s) {
  const mode = (what, m) => {
    const b = badge(m, MODES[m]?.kind || '');
    if (MODES[m]) b.title = MODES[m].text;
    return [what, ' ', b];
  };
  return h('li', null, h('strong', null, s.source), ': ', mode('violations', s.onViolation), ' · ', mode('unplanned events', s.onUnplannedEvent));
}

/** Planned property names (required ones marked); null = the plan does not list them, any is planned. */
function properties(names, required = []) {
  const listed = names ?? required;
  const chips = listed.length ? h('ul', { class: 'chips' }, listed.map(n => h('li', null, h('code', null, n), required.includes(n) ? [' ', badge('required', 'warn')] : null))) : null;
  if (!names) return [h('span', { class: 'muted' }, 'any properties'), chips];
  return chips ?? h('span', { class: 'muted' }, 'none');
}

function traits(label, names) {
  return h('div', { class: 'plan-traits' }, h('span', { class: 'muted' }, label + ': '),
    names ? properties(names) : h('span', { class: 'muted' }, 'any'));
}

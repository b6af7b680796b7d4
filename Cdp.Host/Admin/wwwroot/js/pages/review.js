import { api, enc, session } from '../api.js';
import { h, fmt, into, pageHeader, table, when, statusBadge, empty, errorBox, notAvailable, toast, profileLink, value, actionButton, pager, section } from '../dom.js';

const PAGE = 10;
const RUNS = 5;
const STATUSES = ['pending', 'accepted', 'rejected', 'merged-elsewhere'];

/** The probabilistic matcher's candidate pairs: both profiles side by side, the score per comparison, accept or reject. */
export async function reviewPage(view, { query }) {
  const status = STATUSES.includes(query.get('status')) ? query.get('status') : 'pending';
  const skip = Math.max(0, Number(query.get('skip')) || 0);
  const box = h('div', { id: 'review-list' });
  const runsBox = h('div', { id: 'matching-runs' });
  const runResult = h('div', { id: 'run-result', 'aria-live': 'polite' });
  const refresh = () => { into(box, () => queue(status, skip)); into(runsBox, runs); };
  const runButton = session.isAdmin
    ? actionButton('Run matching now', () => runMatching(runResult, refresh), { class: 'primary', id: 'run-matching' })
    : null;
  view.append(pageHeader('Review queue', runButton),
    runResult,
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'Status' },
      STATUSES.map(s => h('a', { class: 'chip', href: `#/review?status=${s}`, 'aria-current': s === status ? 'true' : null }, s))),
    box,
    section('Matching runs', runsBox));
  refresh();
}

async function queue(status, skip) {
  let page;
  try {
    page = await api(`/api/identity/review?status=${status}&limit=${PAGE}${skip ? '&cursor=' + skip : ''}`);
  } catch (err) {
    if (err.notAvailable) return notAvailable('The review queue');
    throw err;
  }
  const go = s => () => { location.hash = `#/review?status=${status}&skip=${s}`; };
  return [
    h('p', { class: 'muted' }, page.total ? `${fmt.num(page.total)} ${status} pair${page.total === 1 ? '' : 's'}.` : ''),
    page.items.length ? page.items.map(item => pair(item)) : empty(status === 'pending' ? 'Nothing to review: every likely match has been decided.' : `No ${status} pairs.`),
    pager({ label: 'Review pages', onPrev: skip > 0 ? go(Math.max(0, skip - PAGE)) : null, onNext: page.nextCursor ? go(Number(page.nextCursor)) : null }),
  ];
}

/** Runs the matcher (incremental: the profiles changed since the last run) and says what it did. */
async function runMatching(out, refresh) {
  try {
    const r = await api('/api/identity/matching/run', { method: 'POST' });
    out.replaceChildren(h('p', { class: 'ok' }, `✓ Matching compared ${fmt.num(r.profilesCompared)} of ${fmt.num(r.profiles)} profiles: `,
      `${fmt.num(r.queuedForReview)} queued for review, ${fmt.num(r.autoMerged)} merged automatically`,
      r.refusedByRules ? `, ${fmt.num(r.refusedByRules)} refused by the merge rules` : '',
      r.heldByMemberGuard ? `, ${fmt.num(r.heldByMemberGuard)} held because members disagree` : '', '.',
      r.note ? [' ', h('span', { class: 'muted' }, r.note)] : null,
      fieldWarnings(r)));
    refresh();
  } catch (err) {
    out.replaceChildren(err.notAvailable && err.status === 405 ? notAvailable('Running the matcher') : errorBox(err));
  }
}

async function runs() {
  let list;
  try {
    ({ runs: list } = await api(`/api/identity/matching/runs?limit=${RUNS}`));
  } catch (err) {
    if (err.notAvailable) return notAvailable('The list of matching runs');
    throw err;
  }
  return table([
    { label: 'Started', cell: r => when(r.startedAt, true) },
    { label: 'Trigger', cell: r => [r.trigger, r.full ? ' (full)' : ''] },
    { label: 'Compared', cell: r => `${fmt.num(r.profilesCompared)} / ${fmt.num(r.profiles)}`, class: 'num' },
    { label: 'Pairs', cell: r => fmt.num(r.candidatePairs), class: 'num' },
    { label: 'Merged', cell: r => fmt.num(r.autoMerged), class: 'num' },
    { label: 'Queued', cell: r => fmt.num(r.queuedForReview), class: 'num' },
    { label: 'Duration', cell: r => fmt.seconds(r.durationSeconds) },
    { label: 'Note', cell: r => (r.modelTrained || r.note || (r.fieldWarnings || []).length
      ? [r.modelTrained ? 'model trained. ' : '', r.note || '', fieldWarnings(r)] : '—') },
  ], list || [], { empty: 'No matching runs yet.' });
}

/** A run's warnings about comparison or blocking fields that no profile (or under 1%) has. */
function fieldWarnings(r) {
  const warnings = r.fieldWarnings || [];
  return warnings.length ? h('ul', { class: 'field-warnings' }, warnings.map(w => h('li', { class: 'warn' }, w.message))) : null;
}

/**
 * A comparison level in words; the engine's label (Exact, Null, Else, JaroWinkler>=0.92, DamerauLevenshtein<=1,
 * within 3 days or day/month swapped, Swapped with lastName) stays in the title.
 */
function levelText(level) {
  const l = String(level ?? '');
  const tf = l.endsWith(' (tf)') ? ' (rarer values weigh more)' : '';
  const base = tf ? l.slice(0, -5) : l;
  let m;
  if (base === 'Exact') return 'same' + tf;
  if (base === 'Null') return 'missing on one side';
  if (base === 'Else') return 'different';
  if ((m = /^JaroWinkler>=([\d.]+)$/.exec(base))) return `similar (Jaro-Winkler ≥ ${m[1]})`;
  if ((m = /^DamerauLevenshtein<=(\d+)$/.exec(base))) return `${m[1]} typo${m[1] === '1' ? '' : 's'} apart at most`;
  if ((m = /^Swapped with (\S+)(?: \(JaroWinkler>=([\d.]+)\))?$/.exec(base))) return `swapped with ${m[1]}` + (m[2] ? ` (Jaro-Winkler ≥ ${m[2]})` : '');
  return base;
}

function side(title, p, sameAsOther) {
  const traits = Object.entries(p?.traits || {});
  return h('div', { class: 'side' },
    h('h3', null, title, ': ', profileLink(p?.profileId)),
    sameAsOther ? h('p', { class: 'notice' }, 'Both sides are one profile now.') : null,
    traits.length ? h('dl', { class: 'facts' }, traits.map(([k, v]) => [h('dt', null, k), h('dd', null, value(v))])) : h('p', { class: 'muted' }, 'No traits.'),
    h('ul', { class: 'chips' }, (p?.identifiers || []).map(i => h('li', null, h('code', null, `${i.type}:${i.value}`)))));
}

const blank = v => v === null || v === undefined || v === '';
const compared = v => (blank(v) ? h('span', { class: 'muted' }, '—') : value(v));

function decision(item) {
  if (item.status === 'accepted') {
    return h('p', { class: 'ok' }, '✓ Accepted ', when(item.decidedAt, true), item.mergeId ? [': merge ', h('code', null, item.mergeId)] : '', '.');
  }
  if (item.status === 'rejected') return h('p', { class: 'muted' }, 'Rejected ', when(item.decidedAt, true), ': they stay two people.');
  if (item.status === 'merged-elsewhere') return h('p', { class: 'muted' }, 'Closed ', when(item.decidedAt, true), ': ', item.closed ?? 'merged elsewhere', '.');
  return null;
}


/** The comparisons that said something; those with no value on either side (Null, weight 0) in one line below. */
function breakdown(comparisons) {
  const absent = comparisons.filter(c => c.level === 'Null' && blank(c.left) && blank(c.right));
  const rows = comparisons.filter(c => !absent.includes(c));
  return [
    table([
      { label: 'Comparison', cell: c => c.name },
      { label: 'Level', cell: c => h('span', { title: c.level }, levelText(c.level)) },
      { label: 'Weight', cell: c => h('span', { class: c.weight > 0 ? 'pos' : c.weight < 0 ? 'neg' : 'muted' }, (c.weight >= 0 ? '+' : '−') + Math.abs(Number(c.weight)).toFixed(2)), class: 'num' },
      { label: 'Left', cell: c => compared(c.left) },
      { label: 'Right', cell: c => compared(c.right) },
    ], rows, { empty: 'No comparisons recorded.' }),
    absent.length ? h('p', { class: 'muted small not-compared' }, 'No value on either side (weight 0): ', absent.map(c => c.name).join(', '), '.') : null,
  ];
}

function pair(item) {
  const outcome = h('div', { class: 'outcome', 'aria-live': 'polite' }, decision(item));
  const status = h('span', { class: 'pair-status' }, statusBadge(item.status));
  const same = !!item.left?.profileId && item.left.profileId === item.right?.profileId;
  const card = h('article', { class: 'card pair', 'aria-label': `Pair ${item.id}`, dataset: { id: item.id } },
    h('header', { class: 'pair-head' },
      h('div', { class: 'score' },
        h('strong', null, fmt.pct(item.score ?? 0)),
        h('span', { class: 'meter', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '1', 'aria-valuenow': String(item.score ?? 0), 'aria-label': 'Match score' },
          h('span', { class: `meter-fill w${Math.round((item.score ?? 0) * 20) * 5}` }))),
      h('div', null, status, ' ', item.reason || '', ' ', when(item.createdAt, true),
        item.matchWeight !== undefined && item.matchWeight !== null ? h('span', { class: 'muted' }, ` · match weight ${Number(item.matchWeight).toFixed(2)}`) : null)),
    h('div', { class: 'sides' }, side('Left', item.left, same), side('Right', item.right, false)),
    h('h3', null, 'Score breakdown'),
    breakdown(item.comparisons || []),
    item.status === 'pending' && session.isAdmin ? h('div', { class: 'actions' },
      actionButton('Accept: same person', () => decide(item, 'accept', outcome, card, status), { class: 'primary' }),
      actionButton('Reject: different people', () => decide(item, 'reject', outcome, card, status))) : null,
    outcome);
  return card;
}

function reload() {
  const target = '#/review?status=pending';
  if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange')); else location.hash = target;
}

async function decide(item, verb, outcome, card, status) {
  try {
    const r = await api(`/api/identity/review/${enc(item.id)}/${verb}`, { method: 'POST' });
    card.querySelectorAll('.actions button').forEach(b => b.remove());
    status.replaceChildren(statusBadge(verb === 'accept' ? 'accepted' : r?.status || 'rejected'));
    outcome.replaceChildren(verb === 'accept'
      ? h('p', { class: 'ok' }, '✓ Merged into ', profileLink(r?.winnerProfileId), r?.mergeId ? [' (merge ', h('code', null, r.mergeId), ')'] : '', '.')
      : h('p', { class: 'ok' }, '✓ Rejected: they stay two people.'));
    toast(verb === 'accept' ? 'Pair merged.' : 'Pair rejected.', 'good');
  } catch (err) {
    if (err.notAvailable && err.status === 405) { outcome.replaceChildren(notAvailable('Deciding pairs')); return; }
    if (err.status === 409) {
      // refused (not pending any more, the merge rules, already one person, a side deleted): the problem's detail says why
      card.querySelectorAll('.actions button').forEach(b => b.remove());
      outcome.replaceChildren(h('div', { class: 'error-box', role: 'alert' },
        h('strong', null, verb === 'accept' ? 'Cdp did not merge this pair' : 'Cdp did not reject this pair'),
        h('p', null, err.detail || err.message),
        h('button', { type: 'button', onclick: reload }, 'Reload the queue')));
      return;
    }
    outcome.replaceChildren(errorBox(err));
  }
}


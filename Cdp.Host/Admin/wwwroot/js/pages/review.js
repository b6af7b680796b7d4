import { api, enc, session } from '../api.js';
import { h, fmt, into, pageHeader, table, when, statusBadge, empty, errorBox, notAvailable, toast, profileLink, value, actionButton, pager } from '../dom.js';

const PAGE = 10;
const STATUSES = ['pending', 'accepted', 'rejected'];

/** The probabilistic matcher's candidate pairs: both profiles side by side, the score per comparison, accept or reject. */
export async function reviewPage(view, { query }) {
  const status = STATUSES.includes(query.get('status')) ? query.get('status') : 'pending';
  const skip = Math.max(0, Number(query.get('skip')) || 0);
  const box = h('div', { id: 'review-list' });
  view.append(pageHeader('Review queue'),
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'Status' },
      STATUSES.map(s => h('a', { class: 'chip', href: `#/review?status=${s}`, 'aria-current': s === status ? 'true' : null }, s))),
    box);
  into(box, async () => {
    let page;
    try {
      page = await api(`/api/identity/review?status=${status}&skip=${skip}&take=${PAGE}`);
    } catch (err) {
      if (err.notAvailable) return notAvailable('The review queue');
      throw err;
    }
    const go = s => () => { location.hash = `#/review?status=${status}&skip=${s}`; };
    return [
      h('p', { class: 'muted' }, page.total ? `${fmt.num(page.total)} ${status} pair${page.total === 1 ? '' : 's'}.` : ''),
      page.items.length ? page.items.map(item => pair(item)) : empty(status === 'pending' ? 'Nothing to review: every likely match has been decided.' : `No ${status} pairs.`),
      pager({ label: 'Review pages', onPrev: skip > 0 ? go(Math.max(0, skip - PAGE)) : null, onNext: skip + PAGE < page.total ? go(skip + PAGE) : null }),
    ];
  });
}

function side(title, p) {
  const traits = Object.entries(p?.traits || {});
  return h('div', { class: 'side' },
    h('h3', null, title, ': ', profileLink(p?.profileId)),
    traits.length ? h('dl', { class: 'facts' }, traits.map(([k, v]) => [h('dt', null, k), h('dd', null, value(v))])) : h('p', { class: 'muted' }, 'No traits.'),
    h('ul', { class: 'chips' }, (p?.identifiers || []).map(i => h('li', null, h('code', null, `${i.type}:${i.value}`)))));
}

function pair(item) {
  const outcome = h('div', { class: 'outcome', 'aria-live': 'polite' });
  const card = h('article', { class: 'card pair', 'aria-label': `Pair ${item.id}`, dataset: { id: item.id } },
    h('header', { class: 'pair-head' },
      h('div', { class: 'score' },
        h('strong', null, fmt.pct(item.score ?? 0)),
        h('span', { class: 'meter', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '1', 'aria-valuenow': String(item.score ?? 0), 'aria-label': 'Match score' },
          h('span', { class: `meter-fill w${Math.round((item.score ?? 0) * 20) * 5}` }))),
      h('div', null, statusBadge(item.status), ' ', item.reason || '', ' ', when(item.createdAt, true),
        item.matchWeight !== undefined ? h('span', { class: 'muted' }, ` · match weight ${Number(item.matchWeight).toFixed(2)}`) : null)),
    h('div', { class: 'sides' }, side('Left', item.left), side('Right', item.right)),
    h('h3', null, 'Score breakdown'),
    table([
      { label: 'Comparison', cell: c => c.name },
      { label: 'Level', cell: c => c.level },
      { label: 'Weight', cell: c => h('span', { class: c.weight > 0 ? 'pos' : c.weight < 0 ? 'neg' : 'muted' }, (c.weight >= 0 ? '+' : '') + Number(c.weight).toFixed(2)), class: 'num' },
      { label: 'Left', cell: c => value(c.left) },
      { label: 'Right', cell: c => value(c.right) },
    ], item.comparisons || [], { empty: 'No comparisons recorded.' }),
    item.status === 'pending' && session.isAdmin ? h('div', { class: 'actions' },
      actionButton('Accept: same person', () => decide(item, 'accept', outcome, card), { class: 'primary' }),
      actionButton('Reject: different people', () => decide(item, 'reject', outcome, card))) : null,
    outcome);
  return card;
}

async function decide(item, verb, outcome, card) {
  try {
    const r = await api(`/api/identity/review/${enc(item.id)}/${verb}`, { method: 'POST' });
    card.querySelectorAll('.actions button').forEach(b => b.remove());
    outcome.replaceChildren(verb === 'accept'
      ? h('p', { class: 'ok' }, '✓ Merged into ', profileLink(r?.winnerProfileId), r?.mergeId ? ` (merge ${r.mergeId})` : '', '.')
      : h('p', { class: 'ok' }, '✓ Rejected: they stay two people.'));
    toast(verb === 'accept' ? 'Pair merged.' : 'Pair rejected.', 'good');
  } catch (err) {
    outcome.replaceChildren(err.notAvailable && err.status === 405 ? notAvailable('Deciding pairs') : errorBox(err));
  }
}

import { api } from '../api.js';
import { h, into, pageHeader, table, when, pager } from '../dom.js';

const PAGE = 25;

/** Events that failed validation, newest first, with the reason for each field. */
export async function deadLettersPage(view, { query }) {
  const stack = (query.get('before') || '').split(',').filter(Boolean);
  const box = h('div', { id: 'dead-letters' });
  view.append(pageHeader('Dead letters'),
    h('p', { class: 'muted' }, 'Events Cdp refused because they failed validation. They are kept with their reasons; fix the sender and send them again.'),
    h('section', { class: 'card', 'aria-label': 'Dead letters' }, box));
  into(box, async () => {
    const before = stack[stack.length - 1];
    const page = await api(`/api/collection/dead-letters?limit=${PAGE}${before ? '&cursor=' + before : ''}`);
    return [
      table([
        { label: 'Received', cell: d => when(d.receivedAt) },
        { label: 'Source', cell: d => d.source },
        { label: 'Reasons', cell: d => h('ul', { class: 'reasons' }, d.errors.map(e => h('li', null, h('code', null, e.field), ' ', e.message))) },
        { label: 'Event', cell: d => h('details', null, h('summary', null, `item ${d.index}`), h('pre', { class: 'json' }, d.raw)) },
      ], page.items, { empty: 'No dead letters: every event so far was valid.' }),
      pager({
        label: 'Dead letter pages',
        onPrev: stack.length ? () => { location.hash = '#/dead-letters' + (stack.length > 1 ? '?before=' + stack.slice(0, -1).join(',') : ''); } : null,
        onNext: page.nextCursor ? () => { location.hash = '#/dead-letters?before=' + [...stack, page.nextCursor].join(','); } : null,
      }),
    ];
  });
}

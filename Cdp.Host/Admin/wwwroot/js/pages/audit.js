import { api } from '../api.js';
import { h, into, pageHeader, table, when, notAvailable, pager, value } from '../dom.js';

const PAGE = 50;

/** Who did what through the admin API (oldest first, paged with "after"). */
export async function auditPage(view, { query }) {
  const stack = (query.get('after') || '').split(',').filter(Boolean);
  const box = h('div', { id: 'audit' });
  view.append(pageHeader('Audit log'), h('section', { class: 'card', 'aria-label': 'Audit log' }, box));
  into(box, async () => {
    const after = stack[stack.length - 1];
    let page;
    try {
      page = await api(`/api/audit?take=${PAGE}${after ? '&after=' + encodeURIComponent(after) : ''}`);
    } catch (err) {
      if (err.notAvailable) return notAvailable('The audit log');
      throw err;
    }
    const items = Array.isArray(page) ? page : page.items || page.entries || [];
    const next = Array.isArray(page) ? null : page.next ?? page.nextAfter ?? null;
    const known = new Set(['id', 'at', 'timestamp', 'actor', 'who', 'key', 'action', 'what', 'target', 'subject']);
    return [
      table([
        { label: 'When', cell: e => when(e.at || e.timestamp) },
        { label: 'Who', cell: e => e.actor || e.who || e.key || '—' },
        { label: 'Action', cell: e => e.action || e.what || '—' },
        { label: 'Target', cell: e => value(e.target ?? e.subject ?? null) },
        { label: 'Details', cell: e => { const rest = Object.fromEntries(Object.entries(e).filter(([k]) => !known.has(k))); return Object.keys(rest).length ? value(rest) : '—'; } },
      ], items, { empty: 'Nothing recorded yet.' }),
      pager({
        label: 'Audit pages',
        onPrev: stack.length ? () => { location.hash = '#/audit' + (stack.length > 1 ? '?after=' + stack.slice(0, -1).join(',') : ''); } : null,
        onNext: next !== null && next !== undefined ? () => { location.hash = '#/audit?after=' + [...stack, next].join(','); } : null,
      }),
    ];
  });
}

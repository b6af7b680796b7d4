import { api, enc, session } from '../api.js';
import {
  h, fmt, into, section, pageHeader, table, when, statusBadge, facts, pager, empty, errorBox, confirmDialog, toast,
  profileLink, debounce, actionButton, field, fill,
} from '../dom.js';
import { stepChart } from '../chart.js';

/** Wait this long after the last keystroke before asking the server to check and preview the draft. */
const PREVIEW_DELAY_MS = 400;
const HISTORY_PAGE = 25;
/** History entries read for the size chart (newest first; the API caps a page at 1000). */
const CHART_ENTRIES = 1000;

export async function segmentsPage(view) {
  const box = h('div');
  view.append(pageHeader('Segments', session.isAdmin ? h('a', { class: 'button primary', href: '#/segments/new', id: 'new-segment' }, 'New segment') : null),
    h('section', { class: 'card', 'aria-label': 'Segments' }, box));
  into(box, async () => {
    const { segments } = await api('/api/segments');
    return table([
      { label: 'Segment', cell: s => [h('a', { href: '#/segments/' + enc(s.key) }, s.name || s.key), h('div', { class: 'muted small' }, s.key)] },
      { label: 'Members', cell: s => fmt.num(s.members), class: 'num' },
      { label: 'Last evaluated', cell: s => when(s.lastEvaluated, true) },
      { label: 'Health', cell: s => statusBadge(s.health) },
      { label: 'Defined in', cell: s => (s.origin === 'config' ? 'appsettings' : 'API') },
    ], segments, { empty: 'No segments yet.' + (session.isAdmin ? ' Create one with “New segment”.' : '') });
  });
}

/** "Where: line 2, column 7: expected ..." -> { line: 2, column: 7, message } */
export function errorPosition(detail) {
  const m = /line (\d+), column (\d+): ([\s\S]*)$/.exec(detail || '');
  return m ? { line: Number(m[1]), column: Number(m[2]), message: m[3] } : null;
}

/** Offset in text of a 1-based line and column. */
function offsetOf(text, line, column) {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  return Math.min(text.length, offset + column - 1);
}

export async function segmentPage(view, { args }) {
  const isNew = args[0] === 'new';
  let segment = null;
  if (!isNew) {
    try {
      segment = await api(`/api/segments/${enc(args[0])}`);
    } catch (err) {
      view.append(pageHeader('Segment'), err.status === 404 ? empty(`No segment ${args[0]}.`) : errorBox(err));
      return;
    }
  }
  const editable = session.isAdmin && (isNew || !segment.readOnly);
  const canPreview = session.isAdmin;
  const key = segment?.key;

  const keyInput = h('input', { type: 'text', id: 'segment-key', value: key || '', readOnly: !isNew, required: true, pattern: '[A-Za-z0-9_-]{1,64}', autocomplete: 'off', spellcheck: 'false' });
  const nameInput = h('input', { type: 'text', id: 'segment-name', value: segment?.name || '', readOnly: !editable });
  const descInput = h('input', { type: 'text', id: 'segment-description', value: segment?.description || '', readOnly: !editable });
  const where = h('textarea', { id: 'segment-where', rows: '6', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'where-status', readOnly: !editable && !canPreview },
    segment?.where || '');
  const backdrop = h('div', { class: 'editor-backdrop', 'aria-hidden': 'true' });
  const editor = h('div', { class: 'editor' }, backdrop, where);
  const status = h('div', { id: 'where-status', class: 'where-status', 'aria-live': 'polite' });
  const preview = h('div', { id: 'preview' });
  const formError = h('p', { class: 'form-error', role: 'alert' });

  const header = pageHeader(isNew ? 'New segment' : segment.name || key,
    !isNew && session.isAdmin && !segment.readOnly ? actionButton('Delete…', () => remove(key), { class: 'danger', id: 'delete-segment' }) : null);
  view.append(header);
  if (!isNew) {
    view.append(h('div', { class: 'cards' },
      h('div', { class: 'figure' }, h('span', { class: 'label' }, 'Members'), h('strong', { id: 'segment-members' }, fmt.num(segment.members))),
      h('div', { class: 'figure' }, h('span', { class: 'label' }, 'Health'), h('strong', null, statusBadge(segment.health))),
      h('div', { class: 'figure' }, h('span', { class: 'label' }, 'Last evaluated'), h('strong', null, when(segment.lastEvaluated, true))),
      h('div', { class: 'figure' }, h('span', { class: 'label' }, 'Defined in'), h('strong', null, segment.readOnly ? 'appsettings' : 'API'))));
    if (segment.readOnly) view.append(h('p', { class: 'notice' }, `Defined in appsettings.json (Cdp:Segments:${key}): change it there. You can still try changes in the editor and preview them.`));
    const warnings = planWarnings(segment.warnings, 'segment-warnings');
    if (warnings) view.append(warnings);
  }

  const form = h('form', { class: 'segment-form', novalidate: true },
    isNew ? field('Key', keyInput, 'Letters, digits, - and _; used by syncs and “in segment”.') : null,
    h('div', { class: 'grid-2' }, field('Name', nameInput), field('Description', descInput)),
    h('div', { class: 'field' },
      h('label', { for: 'segment-where' }, 'Condition'),
      editor,
      status,
      h('small', { class: 'hint' }, 'e.g. ', h('code', null, 'performed "Order Completed" at least 2 times within 30d and traits.country = "DE"'), ' · grammar in docs/segments.md')),
    formError,
    editable ? h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'save-segment' }, isNew ? 'Create segment' : 'Save changes')) : null);
  view.append(section('Definition', form), section('Preview', preview));

  // --- inline error at the exact line and column, as you type ---------------------------------------------
  let pending = null;
  const syncScroll = () => { backdrop.scrollTop = where.scrollTop; backdrop.scrollLeft = where.scrollLeft; };
  where.addEventListener('scroll', syncScroll);

  function showError(pos, message) {
    const text = where.value;
    where.setAttribute('aria-invalid', 'true');
    status.className = 'where-status invalid';
    if (pos) {
      const at = offsetOf(text, pos.line, pos.column);
      const end = Math.min(text.length, at + Math.max(1, (/^\S+/.exec(text.slice(at)) || [''])[0].length));
      backdrop.replaceChildren(text.slice(0, at), h('mark', null, text.slice(at, end) || ' '), text.slice(end) + '\n');
      const lineText = text.split('\n')[pos.line - 1] ?? '';
      status.replaceChildren(
        h('p', { class: 'where-error', id: 'where-error', dataset: { line: pos.line, column: pos.column } },
          h('strong', null, `Line ${pos.line}, column ${pos.column}: `), pos.message),
        h('pre', { class: 'caret-line', 'aria-hidden': 'true' }, lineText + '\n' + ' '.repeat(Math.max(0, pos.column - 1)) + '^'),
        h('button', { type: 'button', class: 'link', onclick: () => { where.focus(); where.setSelectionRange(at, end); } }, 'Go to the error'));
    } else {
      backdrop.replaceChildren(text + '\n');
      status.replaceChildren(h('p', { class: 'where-error', id: 'where-error' }, message));
    }
    syncScroll();
  }

  function clearError() {
    where.removeAttribute('aria-invalid');
    backdrop.replaceChildren(where.value + '\n');
    status.className = 'where-status';
  }

  async function check() {
    const draft = where.value;
    pending?.abort();
    if (!draft.trim()) {
      clearError();
      status.replaceChildren(h('p', { class: 'muted' }, 'Write a condition to see who it matches.'));
      preview.replaceChildren(empty('No condition yet.'));
      return;
    }
    if (!canPreview) {
      preview.replaceChildren(h('p', { class: 'muted' }, 'Previews need an admin key (they read every profile).'));
      return;
    }
    const controller = new AbortController();
    pending = controller;
    status.replaceChildren(h('p', { class: 'muted' }, 'Checking…'));
    preview.setAttribute('aria-busy', 'true');
    try {
      const r = await api('/api/segments/preview', { method: 'POST', body: { where: draft, key: isNew ? null : key }, signal: controller.signal });
      if (controller.signal.aborted) return;
      clearError();
      status.replaceChildren(...[h('p', { class: 'where-ok' }, '✓ Valid condition'), planWarnings(r.warnings, 'where-warnings')].filter(Boolean));
      fill(preview, previewResult(r));
    } catch (err) {
      if (err.name === 'AbortError' || controller.signal.aborted) return;
      if (err.status === 400) {
        const detail = (err.detail || '').replace(/^Where: /, '');
        showError(errorPosition(detail), detail);
        preview.replaceChildren(h('p', { class: 'muted' }, 'Fix the condition to see a preview.'));
      } else {
        clearError();
        status.replaceChildren();
        preview.replaceChildren(errorBox(err));
      }
    } finally {
      if (pending === controller) preview.removeAttribute('aria-busy');
    }
  }
  const later = debounce(check, PREVIEW_DELAY_MS);
  where.addEventListener('input', () => { clearError(); later(); });
  clearError();
  if (where.value.trim()) check(); else preview.replaceChildren(empty('No condition yet.'));

  form.addEventListener('submit', async e => {
    e.preventDefault();
    formError.textContent = '';
    const body = { key: isNew ? keyInput.value.trim() : key, name: nameInput.value.trim() || null, description: descInput.value.trim() || null, where: where.value };
    try {
      const saved = isNew
        ? await api('/api/segments', { method: 'POST', body })
        : await api(`/api/segments/${enc(key)}`, { method: 'PUT', body });
      toast(`Saved ${saved.key}. Members are recomputed in the background.`, 'good');
      location.hash = '#/segments/' + enc(saved.key);
      if (!isNew) window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (err) {
      formError.textContent = err.detail || err.message;
      if (err.problem?.field === 'where') showError(errorPosition((err.detail || '').replace(/^Where: /, '')), err.detail);
    }
  });

  if (isNew) return;
  const chartBox = h('div', { id: 'size-chart' });
  const historyBox = h('div', { id: 'segment-history' });
  const membersBox = h('div', { id: 'segment-members-list' });
  view.append(section('Size over time', chartBox), section('Entries and exits', historyBox), section('Members', membersBox));
  into(chartBox, () => sizeChart(key, segment.members));
  history(historyBox, key);
  members(membersBox, key);
}

/** The tracking-plan warnings of a condition (events or properties no source's plan has), or null when there are none. */
function planWarnings(warnings, id) {
  if (!warnings?.length) return null;
  return h('div', { class: 'notice plan-warnings', id, role: 'note' }, ...warnings.map(w => h('p', null, '⚠ ' + w)));
}

function previewResult(r) {
  const sample = r.sample || [];
  const names = r.names || {};
  // a person by name (the server reads it from their traits), with the id as the tooltip; the id when they have none
  const named = id => { const a = profileLink(id, names[id] || id); if (names[id]) a.title = id; return a; };
  return [
    h('div', { class: 'cards' },
      h('div', { class: 'figure' }, h('span', { class: 'label' }, 'Would match'), h('strong', { id: 'preview-count' }, fmt.num(r.count)), h('small', null, `of ${fmt.num(r.profiles)} profiles`)),
      r.comparedWith ? h('div', { class: 'figure good' }, h('span', { class: 'label' }, 'Would enter'), h('strong', { id: 'preview-added' }, '+' + fmt.num(r.added))) : null,
      r.comparedWith ? h('div', { class: 'figure bad' }, h('span', { class: 'label' }, 'Would leave'), h('strong', { id: 'preview-removed' }, '−' + fmt.num(r.removed))) : null),
    h('h3', null, 'Sample members'),
    sample.length ? h('ul', { class: 'chips', id: 'preview-sample' }, sample.map(id => h('li', null, named(id)))) : empty('Nobody matches.'),
    r.addedSample?.length ? [h('h3', null, 'Entering'), h('ul', { class: 'chips', id: 'preview-entering' }, r.addedSample.map(id => h('li', null, named(id))))] : null,
    r.removedSample?.length ? [h('h3', null, 'Leaving'), h('ul', { class: 'chips', id: 'preview-leaving' }, r.removedSample.map(id => h('li', null, named(id))))] : null,
  ];
}

async function sizeChart(key, current) {
  const { entries } = await api(`/api/segments/${enc(key)}/history?limit=${CHART_ENTRIES}`);
  if (!entries.length) return empty('No entries or exits recorded yet.');
  // walk back from today's size: before an entry the segment had one member less, before an exit one more
  const points = [{ at: new Date(), value: current }];
  let size = current;
  for (const e of entries) {
    points.push({ at: new Date(e.at), value: size });
    size += e.change === 'entered' ? -1 : 1;
  }
  points.push({ at: new Date(new Date(entries[entries.length - 1].at).getTime() - 1), value: Math.max(0, size) });
  points.reverse();
  const span = points[points.length - 1].at - points[0].at;
  const xFormat = span > 2 * 86400e3 ? d => d.toLocaleDateString() : d => d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return [
    stepChart({ label: `Members of ${key} over time`, points, name: 'members', xFormat }),
    entries.length >= CHART_ENTRIES ? h('p', { class: 'muted small' }, `From the latest ${fmt.num(CHART_ENTRIES)} changes.`) : null,
  ];
}

function history(box, key) {
  const stack = [];
  async function load(before) {
    const page = await api(`/api/segments/${enc(key)}/history?limit=${HISTORY_PAGE}${before ? '&cursor=' + enc(before) : ''}`);
    return [
      table([
        { label: 'When', cell: e => when(e.at) },
        { label: 'Change', cell: e => statusBadge(e.change) },
        { label: 'Profile', cell: e => profileLink(e.profile) },
        { label: 'Cause', cell: e => e.cause },
      ], page.entries, { empty: 'No entries or exits yet.' }),
      pager({
        label: 'History pages',
        onPrev: stack.length ? () => into(box, () => load(stack.pop())) : null,
        onNext: page.nextCursor ? () => { stack.push(before); into(box, () => load(page.nextCursor)); } : null,
      }),
    ];
  }
  into(box, () => load(null));
}

function members(box, key) {
  const stack = [];
  async function load(cursor) {
    const page = await api(`/api/segments/${enc(key)}/members?limit=${HISTORY_PAGE}${cursor ? '&cursor=' + enc(cursor) : ''}`);
    return [
      h('p', { class: 'muted' }, `${fmt.num(page.total)} member${page.total === 1 ? '' : 's'}.`),
      page.members.length ? h('ul', { class: 'chips' }, page.members.map(id => h('li', null, profileLink(id)))) : empty('No members.'),
      pager({
        label: 'Member pages',
        onPrev: stack.length ? () => into(box, () => load(stack.pop())) : null,
        onNext: page.nextCursor ? () => { stack.push(cursor); into(box, () => load(page.nextCursor)); } : null,
      }),
    ];
  }
  into(box, () => load(null));
}

async function remove(key) {
  const ok = await confirmDialog({ title: `Delete segment ${key}?`, body: ['Its members and history are dropped. Syncs that use it stop.'], confirm: 'Delete segment', danger: true, typeToConfirm: key });
  if (!ok) return;
  try {
    await api(`/api/segments/${enc(key)}`, { method: 'DELETE' });
    toast(`Deleted ${key}.`, 'good');
    location.hash = '#/segments';
  } catch (err) {
    toast(err.detail || err.message, 'bad');
  }
}

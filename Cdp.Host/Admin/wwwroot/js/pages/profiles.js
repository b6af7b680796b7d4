import { api, enc, session } from '../api.js';
import {
  h, fmt, into, section, pageHeader, table, when, statusBadge, facts, pager, empty, errorBox, confirmDialog, toast,
  profileLink, displayName, value, json, actionButton, badge, append,
} from '../dom.js';

const PAGE = 25;
/** Timeline pages read while a filter looks for matching events, before asking the user to go on. */
const FILTER_READ_PAGES = 8;

const KINDS = {
  auto: 'Anything',
  email: 'Email',
  phone: 'Phone',
  user_id: 'User id',
  name: 'Name',
  id: 'Profile id',
};

function guessKind(q) {
  if (/^p_\d+$/.test(q)) return 'id';
  if (/^[^\s@]+@[^\s@]+$/.test(q)) return 'email';
  if (/^\+?[\d\s().-]{6,}$/.test(q)) return 'phone';
  if (/^[a-z_]+:.+/.test(q)) return 'identifier';
  return 'auto';
}

async function search(kind, q) {
  const byIdentifier = async ref => (await api(`/api/profiles/search?identifier=${enc(ref)}`)).profiles;
  const byTrait = async (trait, v) => (await api(`/api/profiles/search?trait=${enc(trait)}&value=${enc(v)}&limit=${PAGE}`)).profiles;
  const byName = async v => {
    const parts = v.split(/\s+/);
    const found = await Promise.all([
      byTrait('name', v), byTrait('first_name', parts[0]), parts.length > 1 ? byTrait('last_name', parts[parts.length - 1]) : [],
    ]);
    const seen = new Map();
    for (const p of found.flat()) seen.set(p.id, p);
    return [...seen.values()];
  };
  switch (kind === 'auto' ? guessKind(q) : kind) {
    case 'id': {
      const p = await api(`/api/profiles/${enc(q)}`).catch(e => { if (e.status === 404) return null; throw e; });
      return p ? [p] : [];
    }
    case 'email': return byIdentifier('email:' + q);
    case 'phone': return byIdentifier('phone:' + q);
    case 'user_id': return byIdentifier('user_id:' + q);
    case 'identifier': return byIdentifier(q);
    case 'name': return byName(q);
    default: {
      const [asUser, asName] = await Promise.all([byIdentifier('user_id:' + q), byName(q)]);
      const seen = new Map();
      for (const p of [...asUser, ...asName]) seen.set(p.id, p);
      return [...seen.values()];
    }
  }
}

function profileTable(rows, emptyText) {
  return table([
    { label: 'Profile', cell: p => profileLink(p.id, displayName(p.traits, p.id)) },
    { label: 'Email', cell: p => p.traits?.email ?? '—' },
    { label: 'Id', cell: p => h('code', null, p.id) },
    { label: 'Events', cell: p => fmt.num(p.events), class: 'num' },
    { label: 'Last seen', cell: p => when(p.lastSeen, true) },
  ], rows, { empty: emptyText });
}

export async function profilesPage(view, { query }) {
  const q = query.get('q') || '';
  const kind = KINDS[query.get('by')] ? query.get('by') : 'auto';
  const input = h('input', { type: 'search', id: 'profile-q', name: 'q', value: q, placeholder: 'jane@example.com, +44 20…, user id, name', autocomplete: 'off' });
  const select = h('select', { id: 'profile-by', name: 'by' }, Object.entries(KINDS).map(([k, label]) => h('option', { value: k, selected: k === kind }, label)));
  const form = h('form', { class: 'search', role: 'search' },
    h('div', { class: 'field grow' }, h('label', { for: 'profile-q' }, 'Find a person'), input),
    h('div', { class: 'field' }, h('label', { for: 'profile-by' }, 'Search by'), select),
    h('button', { type: 'submit', class: 'primary' }, 'Search'));
  form.addEventListener('submit', e => {
    e.preventDefault();
    const v = input.value.trim();
    location.hash = v ? `#/profiles?q=${enc(v)}&by=${select.value}` : '#/profiles';
  });
  const results = h('div', { id: 'profile-results' });
  view.append(pageHeader('Profiles'), form, h('section', { class: 'card', 'aria-label': 'Results' }, results));

  if (q) {
    into(results, async () => {
      const rows = await search(kind, q);
      if (rows.length === 1 && kind !== 'name' && guessKind(q) !== 'auto') location.hash = '#/profiles/' + enc(rows[0].id);
      return [h('h2', null, `Results for “${q}”`), profileTable(rows, 'Nobody matches. Emails and phones are matched exactly after normalising; names match a name, first_name or last_name trait.')];
    });
    return;
  }
  const cursors = (query.get('after') || '').split(',').filter(Boolean);
  into(results, async () => {
    const after = cursors[cursors.length - 1];
    const page = await api(`/api/profiles?limit=${PAGE}${after ? '&cursor=' + enc(after) : ''}`);
    return [
      h('h2', null, 'All profiles'),
      profileTable(page.profiles, 'No profiles yet: send events to /v1 and they appear here.'),
      pager({
        label: 'Profile pages',
        onPrev: cursors.length ? () => { location.hash = '#/profiles' + (cursors.length > 1 ? '?after=' + cursors.slice(0, -1).join(',') : ''); } : null,
        onNext: page.nextCursor ? () => { location.hash = '#/profiles?after=' + [...cursors, page.nextCursor].join(','); } : null,
      }),
    ];
  });
}

export async function profilePage(view, { args }) {
  const ref = args[0];
  let profile;
  try {
    profile = await api(`/api/profiles/${enc(ref)}`);
  } catch (err) {
    view.append(pageHeader('Profile'), err.status === 404 ? empty(`No profile ${ref}. It may have been deleted.`) : errorBox(err));
    return;
  }
  const id = profile.id;
  const actions = [];
  if (session.isAdmin) {
    actions.push(actionButton('Export data', () => exportProfile(id), { id: 'export-profile' }));
    actions.push(actionButton('Delete person…', () => deleteProfile(id, view), { class: 'danger', id: 'delete-profile' }));
  }
  view.append(pageHeader(displayName(profile.traits, id), ...actions));
  if (profile.warnings?.length) view.append(h('div', { class: 'notice', role: 'status' }, profile.warnings.map(w => h('p', null, w))));
  if (ref !== id) view.append(h('p', { class: 'muted' }, `${ref} belongs to ${id}.`));

  const timelineBox = h('div', { id: 'timeline' });
  const segBox = h('div', { id: 'profile-segments' });
  const mergeBox = h('div', { id: 'profile-merges' });
  append(view, h('div', { class: 'grid-2' },
    section('Summary', facts([
      ['Profile id', h('code', null, id)],
      ['First seen', when(profile.firstSeen)],
      ['Last seen', when(profile.lastSeen)],
      ['Events', fmt.num(profile.events)],
      ['Sources', Object.keys(profile.sources || {}).join(', ') || '—'],
      profile.groups?.length ? ['Accounts', profile.groups.join(', ')] : null,
      profile.mergedProfiles?.length ? ['Merged profiles', profile.mergedProfiles.join(', ')] : null,
    ])),
    section('Identifiers', table([
      { label: 'Type', cell: i => i.type },
      { label: 'Value', cell: i => [h('code', null, i.value), i.quarantined ? [' ', badge('quarantined', 'bad')] : null] },
      { label: 'Last seen', cell: i => when(i.lastSeen, true) },
    ], profile.identifiers || [], { empty: 'No identifiers.' }))),
  h('div', { class: 'grid-2' },
    section('Traits', traitList(profile.traits, 'No traits yet.')),
    section('Consent', consent(profile))),
  Object.keys(profile.computedTraits || {}).length ? section('Computed traits', traitList(profile.computedTraits, '')) : null,
  section('Segments', segBox),
  section('Timeline', timelineBox),
  section('Merges', mergeBox));

  into(segBox, () => segments(id));
  timeline(timelineBox, id, profile);
  into(mergeBox, () => merges(id));
}

function traitList(traits, emptyText) {
  const entries = Object.entries(traits || {});
  if (!entries.length) return empty(emptyText);
  return h('dl', { class: 'facts traits' }, entries.map(([k, v]) => [h('dt', null, k), h('dd', null, value(v))]));
}

/** Consent per purpose ({ purpose: { granted, at, source, via } }); older servers without it: the consent-like traits. */
function consent(profile) {
  if (profile.consent && typeof profile.consent === 'object') {
    const rows = Object.entries(profile.consent).map(([purpose, c]) => ({ purpose, ...c }));
    return table([
      { label: 'Purpose', cell: c => c.purpose },
      { label: 'Status', cell: c => statusBadge(c.granted ? 'granted' : 'denied') },
      { label: 'Since', cell: c => when(c.at) },
      // via: the Cdp source whose event made the statement (e.g. the SendGrid webhook that recorded an unsubscribe)
      { label: 'Source', cell: c => c.via ? h('span', null, consentSource(c.source), ' from source ', h('code', null, c.via)) : consentSource(c.source) },
    ], rows, { empty: 'No consent recorded: no event stated consent for any purpose.', rowClass: c => 'consent-' + c.purpose });
  }
  const fromTraits = Object.entries(profile.traits || {}).filter(([k]) => /consent|opt_?in|unsubscribed|suppressed/i.test(k));
  return [
    fromTraits.length ? h('dl', { class: 'facts' }, fromTraits.map(([k, v]) => [h('dt', null, k), h('dd', null, value(v))])) : empty('No consent recorded.'),
    h('p', { class: 'muted small' }, 'Shown from traits; consent records per purpose are not available in this version of Cdp.'),
  ];
}

/** "context.consent" (Segment's consent preferences) or "trait:marketing_consent". */
function consentSource(source) {
  if (!source) return '—';
  if (source === 'context.consent') return 'consent preferences (context.consent)';
  if (source.startsWith('trait:')) return ['trait ', h('code', null, source.slice(6))];
  return source;
}

async function segments(id) {
  const { segments: list } = await api(`/api/segments/profiles/${enc(id)}`);
  const inside = list.filter(s => s.member);
  const outside = list.filter(s => !s.member);
  const item = s => h('li', { class: 'explain' },
    h('div', null, statusBadge(s.member ? 'in' : 'out'), ' ', h('a', { href: '#/segments/' + enc(s.segment) }, s.name || s.segment)),
    h('p', { class: 'explanation' }, s.explanation),
    s.conditions?.length > 1 ? h('ul', { class: 'conditions' }, s.conditions.map(c => h('li', { class: c.met ? 'met' : 'unmet' }, c.met ? '✓ ' : '✗ ', c.detail))) : null);
  if (!list.length) return empty('No segments are defined.');
  return [
    inside.length ? h('ul', { class: 'plain' }, inside.map(item)) : empty('Not in any segment.'),
    outside.length ? h('details', null, h('summary', null, `Not in ${outside.length} other segment${outside.length === 1 ? '' : 's'}`), h('ul', { class: 'plain' }, outside.map(item))) : null,
  ];
}

function eventName(e) {
  return e.event || e.name || (e.type === 'identify' ? 'identify' : e.type === 'group' ? `group ${e.groupId ?? ''}` : e.type);
}

function timeline(box, id, profile) {
  const names = [...new Set([...Object.keys(profile.trackEvents || {}), ...Object.keys(profile.eventTypes || {})])].sort();
  const filter = h('select', { id: 'timeline-filter' }, h('option', { value: '' }, 'All events'), names.map(n => h('option', { value: n }, n)));
  const list = h('div', { id: 'timeline-list' });
  const cursors = [];
  let current = null;

  async function load(cursor) {
    current = cursor;
    const wanted = filter.value;
    const shown = [];
    let next = cursor;
    let pages = 0;
    do {
      const page = await api(`/api/profiles/${enc(id)}/timeline?limit=${wanted ? 100 : PAGE}${next ? '&cursor=' + enc(next) : ''}`);
      for (const e of page.events) if (!wanted || e.type === wanted || e.event === wanted) shown.push(e);
      next = page.nextCursor;
      pages++;
    } while (wanted && next && shown.length < PAGE && pages < FILTER_READ_PAGES);
    return [
      table([
        { label: 'When', cell: e => [when(e.timestamp), arrived(e)] },
        { label: 'Event', cell: e => [h('strong', null, eventName(e)), ' ', h('span', { class: 'muted' }, e.type)] },
        { label: 'Source', cell: e => e.source },
        { label: 'Details', cell: e => h('details', null, h('summary', null, 'payload'), json(e)) },
      ], shown, { empty: wanted ? `No “${wanted}” events${next ? ' in the pages read so far' : ''}.` : 'No events.' }),
      pager({
        label: 'Timeline pages',
        onPrev: cursors.length ? () => into(list, () => load(cursors.pop())) : null,
        onNext: next ? () => { cursors.push(current); into(list, () => load(next)); } : null,
      }),
    ];
  }
  filter.addEventListener('change', () => { cursors.length = 0; into(list, () => load(null)); });
  box.append(h('div', { class: 'field inline' }, h('label', { for: 'timeline-filter' }, 'Show'), filter), list);
  into(list, () => load(null));
}

/** Events are listed by when they happened; when Cdp received one later (a minute or more: sent late, offline, an import), say so. */
const LATE_ARRIVAL_MS = 60_000;
function arrived(e) {
  if (!e.receivedAt || !e.timestamp) return null;
  const late = Date.parse(e.receivedAt) - Date.parse(e.timestamp);
  return Number.isFinite(late) && Math.abs(late) >= LATE_ARRIVAL_MS
    ? h('div', { class: 'muted arrived' }, 'received ', when(e.receivedAt))
    : null;
}

async function merges(id) {
  const { merges: list } = await api(`/api/profiles/${enc(id)}/merges`);
  if (!list.length) return empty('No merges: this profile was never joined with another.');
  return h('ul', { class: 'plain' }, list.map(m => {
    const why = h('div', { class: 'why' });
    return h('li', { class: 'merge' },
      h('p', null, h('strong', null, `${m.loser} → ${m.winner}`), ' ', when(m.at)),
      h('p', null, `Joined by rule “${m.rule}”`,
        m.joiningIdentifier ? [': ', h('code', null, m.joiningIdentifier)] : '',
        m.matchedIdentifier ? [' matched ', h('code', null, m.matchedIdentifier)] : '',
        m.sequence ? ` in event #${m.sequence}` : '', m.source ? ` from ${m.source}` : '', '.'),
      h('div', { class: 'actions' },
        actionButton('Why are they one person?', async () => { await into(why, () => explain(m)); }),
        session.isAdmin ? actionButton('Unmerge…', () => unmerge(m, id), { class: 'danger' }) : null),
      why);
  }));
}

async function explain(m) {
  const r = await api(`/api/identity/why?a=${enc(m.loser)}&b=${enc(m.winner)}`);
  if (!r.samePerson) return h('p', null, 'They are not one person any more.');
  return h('ol', null, r.path.map(p => h('li', null,
    `${p.loser} joined ${p.winner} by “${p.rule}”`, p.joiningIdentifier ? ` via ${p.joiningIdentifier}` : '',
    p.matchedIdentifier ? ` = ${p.matchedIdentifier}` : '', p.messageId ? ` (message ${p.messageId})` : '', ' ', when(p.at))));
}

async function unmerge(m, id) {
  const ok = await confirmDialog({
    title: 'Unmerge these profiles?',
    body: [`${m.loser} will be split out of ${m.winner} again and both are recomputed from their events.`, 'Cdp will not join them again through the same cause.'],
    confirm: 'Unmerge', danger: true,
  });
  if (!ok) return;
  try {
    const r = await api(`/api/identity/merges/${enc(m.id)}/unmerge`, { method: 'POST' });
    toast(`Unmerged: ${r.profiles.join(', ')} (${r.eventsReplayed} events replayed).`, 'good');
    const target = '#/profiles/' + enc(r.profiles.includes(id) ? id : r.profiles[0]);
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange')); else location.hash = target;
  } catch (err) {
    toast(err.detail || err.message, 'bad');
  }
}

async function exportProfile(id) {
  try {
    const res = await api(`/api/privacy/profiles/${enc(id)}/export`, { response: true });
    const blob = await res.blob();
    const a = h('a', { href: URL.createObjectURL(blob), download: `cdp-export-${id}.json` });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    toast(`Exported ${id}.`, 'good');
  } catch (err) {
    toast(err.status === 404 ? `No profile ${id} any more: it may have been deleted.`
      : err.notAvailable ? 'Export is not available in this version of Cdp.' : err.detail || err.message, 'bad');
  }
}

async function deleteProfile(id, view) {
  const ok = await confirmDialog({
    title: 'Delete this person?',
    body: ['Erases the profile, its identifiers and its events (right to erasure). This cannot be undone.'],
    confirm: 'Delete for good', danger: true, typeToConfirm: id,
  });
  if (!ok) return;
  try {
    const receipt = await api(`/api/privacy/profiles/${enc(id)}`, { method: 'DELETE' });
    const erased = Object.entries(receipt?.erased || {});
    view.replaceChildren(pageHeader('Person deleted'),
      section('Deletion receipt', facts([
        ['Receipt', h('code', { id: 'receipt-id' }, receipt?.receiptId ?? '—')],
        ['Profile', h('code', null, receipt?.profileId ?? id)],
        ['Requested by', receipt?.requestedBy ?? '—'],
        ['Requested', when(receipt?.requestedAt)],
        ['Completed', when(receipt?.completedAt)],
        ['Identifiers suppressed', fmt.num(receipt?.suppressedIdentifiers)],
      ]), erased.length ? [h('h3', null, 'Erased'), table([
        { label: 'What', cell: ([k]) => words(k) },
        { label: 'Count', cell: ([, v]) => fmt.num(v), class: 'num' },
      ], erased)] : null,
      h('p', { class: 'muted small' }, 'Keep the receipt id: GET /api/privacy/deletions/{receipt id} shows this receipt again. ',
        'Suppressed identifiers are refused if they come back in new events.')),
      h('p', null, h('a', { href: '#/profiles' }, 'Back to profiles')));
    view.querySelector('h1')?.focus();
  } catch (err) {
    toast(err.status === 404 ? `No profile ${id} any more: it may have been deleted already.`
      : err.notAvailable ? 'Deleting a person is not available in this version of Cdp.' : err.detail || err.message, 'bad');
  }
}

/** "mergedAwayProfiles" -> "merged away profiles". */
function words(key) {
  return String(key).replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

import { api, enc, session } from '../api.js';
import {
  h, fmt, into, section, pageHeader, table, when, statusBadge, facts, empty, errorBox, confirmDialog, toast, profileLink, json, actionButton,
} from '../dom.js';

const RUNS = 20;
const MORE_RUNS = 200;

function schedule(s) {
  if (!s.enabled) return h('span', { class: 'muted' }, 'disabled');
  return s.cron ? [h('code', null, s.cron), ' ', h('span', { class: 'muted' }, s.timeZone)] : h('span', { class: 'muted' }, 'manual only');
}

export async function syncsPage(view) {
  const box = h('div');
  const destBox = h('div');
  const jobsBox = h('div');
  view.append(pageHeader('Syncs'), h('section', { class: 'card', 'aria-label': 'Syncs' }, box), section('Destinations', destBox), section('Scheduled jobs', jobsBox));
  into(box, async () => table([
    { label: 'Sync', cell: s => h('a', { href: '#/syncs/' + enc(s.name) }, s.name) },
    { label: 'Segment', cell: s => h('a', { href: '#/segments/' + enc(s.segment) }, s.segment) },
    { label: 'Destination', cell: s => `${s.destination} (${s.destinationType})` },
    { label: 'Schedule', cell: schedule },
    { label: 'Next run', cell: s => (s.enabled ? when(s.nextRun, true) : '—') },
    { label: 'Last run', cell: s => (s.lastRunAt ? [statusBadge(s.lastRunStatus), ' ', when(s.lastRunAt, true)] : h('span', { class: 'muted' }, 'never')) },
    { label: 'Members', cell: s => fmt.num(s.members), class: 'num' },
  ], await api('/api/activation/syncs'), { empty: 'No syncs configured. Add one under Cdp:Syncs in appsettings.json.' }));
  into(destBox, async () => table([
    { label: 'Destination', cell: d => d.name },
    { label: 'Type', cell: d => d.type },
    { label: 'Address', cell: d => d.baseUrl ?? '—' },
    { label: 'List', cell: d => d.listId ?? '—' },
    { label: 'Syncs', cell: d => d.syncs.join(', ') || '—' },
  ], await api('/api/activation/destinations'), { empty: 'No destinations configured (Cdp:Destinations).' }));
  into(jobsBox, async () => table([
    { label: 'Job', cell: j => j.id },
    { label: 'Kind', cell: j => j.kind ?? '—' },
    { label: 'Schedule', cell: j => (j.cron ? [h('code', null, j.cron), ' ', h('span', { class: 'muted' }, j.timeZone ?? '')] : '—') },
    { label: 'Next', cell: j => when(j.nextExecution, true) },
    { label: 'Last', cell: j => (j.lastExecution ? [statusBadge(j.lastJobState || 'unknown'), ' ', when(j.lastExecution, true)] : h('span', { class: 'muted' }, 'never')) },
    { label: 'Error', cell: j => j.error ?? '—' },
  ], await api('/api/scheduling/recurring'), { empty: 'No recurring jobs (Cdp:Scheduling:RecurringJobs).' }));
}

export async function syncPage(view, { args }) {
  const name = args[0];
  let sync;
  try {
    sync = await api(`/api/activation/syncs/${enc(name)}`);
  } catch (err) {
    view.append(pageHeader('Sync'), err.status === 404 ? empty(`No sync ${name}.`) : errorBox(err));
    return;
  }
  const result = h('div', { id: 'run-result', 'aria-live': 'polite' });
  const runsBox = h('div', { id: 'runs' });
  const refreshRuns = limit => into(runsBox, () => runs(name, limit));
  const actions = session.isAdmin ? [
    actionButton('Dry run', () => start(`dry-run`, 'Dry run', result, refreshRuns), { id: 'dry-run' }),
    actionButton('Dry run (full)', () => start(`dry-run?full=true`, 'Full dry run', result, refreshRuns), { id: 'dry-run-full' }),
    actionButton('Run now', () => start('run', 'Run', result, refreshRuns), { class: 'primary', id: 'run-now' }),
    actionButton('Full resync…', async () => {
      const ok = await confirmDialog({
        title: `Full resync of ${name}?`,
        body: [`Every eligible member of ${sync.segment} is sent to ${sync.destination} again, whatever was sent before. Use it after the list was changed outside Cdp.`],
        confirm: 'Resync everyone', danger: true,
      });
      if (ok) await start('full-resync', 'Full resync', result, refreshRuns);
    }, { class: 'danger', id: 'full-resync' }),
  ] : [];
  view.append(
    pageHeader(name, ...actions),
    section('Settings', facts([
      ['Segment', h('a', { href: '#/segments/' + enc(sync.segment) }, sync.segment)],
      ['Destination', `${sync.destination} (${sync.destinationType})`],
      ['Mode', sync.mode],
      ['Schedule', schedule(sync)],
      ['Next run', sync.enabled ? when(sync.nextRun) : 'disabled'],
      ['Last run', sync.lastRunAt ? [statusBadge(sync.lastRunStatus), ' ', when(sync.lastRunAt)] : 'never'],
      ['Members', fmt.num(sync.members)],
      ['Rejected by the destination', fmt.num(sync.rejected)],
    ])),
    result,
    section('Runs', runsBox));

  async function start(path, what, box, refresh) {
    box.replaceChildren(section(what, h('p', { class: 'loading', role: 'status' }, `${what} of ${name} running…`)));
    try {
      const report = await api(`/api/activation/syncs/${enc(name)}/${path}`, { method: 'POST' });
      box.replaceChildren(runReport(report, what, async () => {
        const ok = await confirmDialog({
          title: 'Allow the mass removal?',
          body: [report.stoppedBecause, 'Run again and remove them from the destination anyway?'],
          confirm: 'Run and remove', danger: true,
        });
        if (ok) await start(`${path.split('?')[0]}?allowMassRemoval=true`, what, box, refresh);
      }));
      refresh(RUNS);
    } catch (err) {
      box.replaceChildren(section(what, errorBox(err)));
    }
  }
  refreshRuns(RUNS);
}

function counts(c) {
  return facts([
    ['Members', fmt.num(c.members)],
    ['Eligible', fmt.num(c.eligible)],
    ['Added', fmt.num(c.added)],
    ['Updated', fmt.num(c.updated)],
    ['Removed', fmt.num(c.removed)],
    ['Unchanged', fmt.num(c.unchanged)],
    c.retried ? ['Retried', fmt.num(c.retried)] : null,
    c.rejected ? ['Rejected', fmt.num(c.rejected)] : null,
    c.skippedNoConsent ? ['Skipped: no consent', fmt.num(c.skippedNoConsent)] : null,
    c.skippedNoIdentifier ? ['Skipped: no identifier', fmt.num(c.skippedNoIdentifier)] : null,
    c.skippedDuplicateIdentifier ? ['Skipped: duplicate identifier', fmt.num(c.skippedDuplicateIdentifier)] : null,
    ['Batches', fmt.num(c.batches)],
  ]);
}

function runReport(r, what, allowMassRemoval) {
  const fields = [...new Set((r.samples || []).flatMap(s => Object.keys(s.fields || {})))];
  return section(what === 'Dry run' || what === 'Full dry run' ? `${what}: nothing was sent` : `${what}: ${r.status}`,
    h('p', null, statusBadge(r.status), ` Run #${r.id}, ${fmt.seconds(r.durationSeconds)}`, r.full ? ', full' : ''),
    r.stoppedBecause ? h('div', { class: 'notice' }, h('p', null, r.stoppedBecause),
      allowMassRemoval && /remov/i.test(r.stoppedBecause) && session.isAdmin ? actionButton('Run again allowing the removal…', allowMassRemoval, { class: 'danger' }) : null) : null,
    r.errors?.length ? h('div', { class: 'error-box' }, h('strong', null, 'Errors'), h('ul', null, r.errors.map(e => h('li', null, e)))) : null,
    counts(r.counts),
    h('h3', null, r.status === 'dry run' ? 'What would change' : 'Sample of the changes'),
    table([
      { label: 'Action', cell: s => statusBadge(s.action) },
      { label: 'Profile', cell: s => profileLink(s.profileId) },
      { label: 'Identifier', cell: s => h('code', null, s.identifier) },
      ...fields.map(f => ({ label: f, cell: s => s.fields?.[f] ?? '—' })),
    ], r.samples || [], { empty: 'No changes: the destination is up to date.' }),
    r.firstPayload ? [h('h3', null, 'First payload'), h('pre', { class: 'json', id: 'first-payload' }, pretty(r.firstPayload))] : null);
}

function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

async function runs(name, limit) {
  const list = await api(`/api/activation/syncs/${enc(name)}/runs?limit=${limit}`);
  return [
    table([
      { label: 'Run', cell: r => `#${r.id}` },
      { label: 'Started', cell: r => when(r.startedAt) },
      { label: 'Trigger', cell: r => r.trigger + (r.full ? ' (full)' : '') },
      { label: 'Status', cell: r => statusBadge(r.status) },
      { label: 'Duration', cell: r => fmt.seconds(r.durationSeconds) },
      { label: '+ / ~ / −', cell: r => `${fmt.num(r.counts.added)} / ${fmt.num(r.counts.updated)} / ${fmt.num(r.counts.removed)}` },
      { label: 'Rejected', cell: r => fmt.num(r.counts.rejected), class: 'num' },
      { label: 'Errors', cell: r => (r.errors?.length || r.stoppedBecause ? h('details', null, h('summary', null, `${r.errors.length || 1} problem${r.errors.length > 1 ? 's' : ''}`), h('ul', null, [r.stoppedBecause, ...r.errors].filter(Boolean).map(e => h('li', null, e)))) : '—') },
    ], list, { empty: 'This sync has not run yet.' }),
    list.length >= limit && limit < MORE_RUNS ? h('button', { type: 'button', onclick: e => { e.currentTarget.disabled = true; into(e.currentTarget.parentElement, () => runs(name, MORE_RUNS)); } }, 'Show older runs') : null,
  ];
}

import { api, session } from '../api.js';
import { h, fmt, into, section, pageHeader, table, when, statusBadge, errorBox, actionButton, confirmDialog, toast } from '../dom.js';
import { barChart } from '../chart.js';

/** The chart's ranges: the server counts events per minute and sums them into these buckets (GET /api/collection/stats). */
const RANGES = {
  '1h': { label: 'last hour', ms: 3600e3 },
  '24h': { label: 'last 24 hours', ms: 24 * 3600e3 },
  '7d': { label: 'last 7 days', ms: 7 * 24 * 3600e3 },
};

export async function overviewPage(view, { query }) {
  const range = RANGES[query.get('range')] ? query.get('range') : '24h';
  const cards = h('div', { class: 'cards' });
  const chartBox = h('div');
  const segBox = h('div');
  const syncBox = h('div');
  const failBox = h('div', { id: 'failed-events' });
  view.append(
    pageHeader('Overview'),
    h('div', { class: 'cards-wrap', 'aria-label': 'Key figures' }, cards),
    section('Events over time',
      h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time range' },
        Object.entries(RANGES).map(([k, r]) => h('a', { href: `#/overview?range=${k}`, 'aria-current': k === range ? 'true' : null, class: 'chip' }, r.label))),
      chartBox),
    section('Failed events', failBox),
    section('Segment freshness', segBox),
    section('Syncs', syncBox));

  const refreshFailures = () => into(failBox, () => failedEvents(refreshAll));
  const refreshCards = () => into(cards, () => figures(refreshCards));
  const refreshAll = () => { refreshCards(); refreshFailures(); };
  refreshCards();
  refreshFailures();
  into(chartBox, () => eventsChart(range));
  into(segBox, segments);
  into(syncBox, syncs);
}

function card(label, value, detail, kind = '') {
  return h('div', { class: `figure ${kind}` }, h('span', { class: 'label' }, label), h('strong', null, value), detail ? h('small', null, detail) : null);
}

/** Pause or resume the profile processor (admins): for backfills and imports; collection goes on either way. */
function processorControl(processor, refresh) {
  if (!session.isAdmin || !processor.running) return null;
  const pause = !processor.paused;
  return actionButton(pause ? 'Pause processing' : 'Resume processing', async () => {
    if (pause && !(await confirmDialog({
      title: 'Pause profile processing?',
      body: ['Events are still collected and acknowledged; they wait in the event log.',
        'Profiles, segments and syncs stop changing until you resume. A restart of Cdp resumes too.'],
      confirm: 'Pause processing',
    }))) return;
    try {
      await api(`/api/profiles/processor/${pause ? 'pause' : 'resume'}`, { method: 'POST' });
      toast(pause ? 'Profile processing paused' : 'Profile processing resumed', 'ok');
      refresh();
    } catch (err) {
      toast(err.detail || err.message, 'bad');
    }
  }, { class: 'small' });
}

async function figures(refresh) {
  const [day, processor] = await Promise.all([api('/api/collection/stats?range=24h'), api('/api/profiles/processor')]);
  const lag = Math.max(0, (processor.logHead ?? 0) - (processor.checkpoint ?? 0));
  const deadCount = day.totals.deadLettered;
  const failed = processor.failedEvents ?? 0;
  const state = processor.dead ? `processor thread is dead: ${processor.deadReason}`
    : processor.environmentalError ? `retrying (attempt ${processor.retryAttempts}): ${processor.environmentalError}`
      : processor.paused ? 'processing is paused'
        : processor.running ? `p95 freshness ${fmt.seconds((processor.freshnessP95Milliseconds ?? 0) / 1000)} · ${fmt.num(Math.round(processor.eventsPerSecond ?? 0))}/s`
          : 'processor is not running';
  return [
    card('Events accepted', fmt.num(day.totals.accepted), 'last 24 hours'),
    card('Requests rejected', fmt.num(day.totals.rejected), 'refused with 4xx/5xx, last 24 hours', day.totals.rejected > 0 ? 'warn' : ''),
    card('Processing lag', `${fmt.num(lag)} events`,
      [state, ' ', processorControl(processor, refresh)],
      !processor.running || processor.dead || processor.environmentalError || processor.lastError ? 'bad' : processor.paused || lag > 10000 ? 'warn' : 'good'),
    card('Failed events', fmt.num(failed),
      h('a', { href: '#failed-events', onclick: e => { e.preventDefault(); document.getElementById('failed-events')?.scrollIntoView(); } },
        failed ? 'set aside by the processor: see below' : 'none set aside'),
      failed ? 'bad' : 'good'),
    card('Dead letters', fmt.num(deadCount),
      h('a', { href: '#/dead-letters' }, 'last 24 hours: see rejected events'), deadCount ? 'warn' : 'good'),
  ];
}

/** Events the processor set aside because they fail alone: what failed, and (admins) retry after a fix or discard. */
async function failedEvents(refresh) {
  const list = await api('/api/profiles/processor/failures?limit=50');
  const act = (f, verb) => async () => {
    if (verb === 'discard' && !(await confirmDialog({
      title: `Discard event ${f.sequence}?`,
      body: ['It stays skipped for good (a reprocess skips it too) and leaves this list. The event stays in the event log.'],
      confirm: 'Discard event', danger: true,
    }))) return;
    try {
      await api(`/api/profiles/processor/failures/${f.sequence}${verb === 'retry' ? '/retry' : ''}`, { method: verb === 'retry' ? 'POST' : 'DELETE' });
      toast(verb === 'retry' ? `Event ${f.sequence} applied` : `Event ${f.sequence} discarded`, 'ok');
      refresh();
    } catch (err) {
      toast(err.detail || err.message, 'bad');
    }
  };
  return [
    list.count > list.items.length ? h('p', { class: 'muted small' }, `The first ${list.items.length} of ${fmt.num(list.count)}.`) : null,
    table([
      { label: 'Sequence', cell: f => String(f.sequence), class: 'num' },
      { label: 'Event', cell: f => `${f.type}${f.event ? ' "' + f.event + '"' : ''} from ${f.source}` },
      { label: 'Message id', cell: f => h('code', null, f.messageId) },
      { label: 'Error', cell: f => h('span', { title: f.stack }, `${f.exception}: ${f.message}`) },
      { label: 'Failed', cell: f => [when(f.lastFailedAt, true), f.attempts > 1 ? ` (${f.attempts} attempts)` : ''] },
      ...(session.isAdmin ? [{
        label: 'Actions',
        cell: f => [actionButton('Retry', act(f, 'retry'), { class: 'small' }), ' ', actionButton('Discard', act(f, 'discard'), { class: 'small' })],
      }] : []),
    ], list.items, { empty: 'No failed events: every event was processed.' }),
  ];
}

/** Drawn from the server's per-minute counters: no event is downloaded, and the counts cover the whole range. */
async function eventsChart(key) {
  const range = RANGES[key];
  const stats = await api(`/api/collection/stats?range=${key}`);
  const buckets = stats.buckets.map(b => ({ start: new Date(b.start), values: { accepted: b.accepted, deadLettered: b.deadLettered, rejected: b.rejected } }));
  const total = stats.totals.accepted + stats.totals.deadLettered;
  const xFormat = range.ms > 24 * 3600e3
    ? d => d.toLocaleDateString(undefined, { weekday: 'short', hour: '2-digit' })
    : d => d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const per = stats.bucketSeconds >= 3600 ? stats.bucketSeconds / 3600 + ' h' : stats.bucketSeconds / 60 + ' min';
  return [
    barChart({
      label: `Events accepted and dead-lettered, and requests rejected, per ${per}, ${range.label}`,
      buckets, xFormat,
      series: [{ key: 'accepted', name: 'accepted', cls: 'fill-a' }, { key: 'deadLettered', name: 'dead letters', cls: 'fill-b' },
        { key: 'rejected', name: 'requests rejected', cls: 'fill-c' }],
    }),
    h('p', { class: 'muted small' },
      total === 0 ? `No events in the ${range.label}.` : `${fmt.num(stats.totals.accepted)} events accepted and ${fmt.num(stats.totals.deadLettered)} dead-lettered in the ${range.label}; ${fmt.num(stats.totals.rejected)} requests rejected.`),
  ];
}

async function segments() {
  const { segments: list } = await api('/api/segments');
  return table([
    { label: 'Segment', cell: s => h('a', { href: '#/segments/' + encodeURIComponent(s.key) }, s.name || s.key) },
    { label: 'Members', cell: s => fmt.num(s.members), class: 'num' },
    { label: 'Last evaluated', cell: s => when(s.lastEvaluated, true) },
    { label: 'Health', cell: s => statusBadge(s.health) },
  ], list, { empty: 'No segments yet. Define one under Segments.' });
}

async function syncs() {
  try {
    const list = await api('/api/activation/syncs');
    return table([
      { label: 'Sync', cell: s => h('a', { href: '#/syncs/' + encodeURIComponent(s.name) }, s.name) },
      { label: 'Destination', cell: s => `${s.destination} (${s.destinationType})` },
      { label: 'Last run', cell: s => (s.lastRunAt ? [statusBadge(s.lastRunStatus), ' ', when(s.lastRunAt, true)] : h('span', { class: 'muted' }, 'never')) },
      { label: 'Next run', cell: s => (s.enabled ? when(s.nextRun, true) : h('span', { class: 'muted' }, 'disabled')) },
    ], list, { empty: 'No syncs configured (Cdp:Syncs in appsettings.json).' });
  } catch (err) {
    return errorBox(err);
  }
}

using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.DeadLetters;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Collection.Import;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Collection.Statistics;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage.Copy;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Collection;

/// <summary>
/// Collection's part of <c>storage copy</c>: the event log (each event under its sequence and received time, appended in
/// order as the log's contract wants), the dead letters under their ids, the CSV import ledger, the hourly ingest counts and the tracking plan violations.
/// </summary>
[Service]
internal sealed class CollectionCopy : IStoreCopy
{
    private const int Page = 5000;

    public string Module => "Collection";

    public IEnumerable<CopySet> Sets(IServiceProvider source, IServiceProvider target)
    {
        var log = source.GetRequiredService<IEventLogStore>();
        var logTo = target.GetRequiredService<IEventLogStore>();
        yield return CopySet.Of("event log", () => Events(log), () => Events(logTo), c => Append(logTo, c), Bytes, chunk: Page);
        var letters = source.GetRequiredService<IDeadLetterStore>();
        var lettersTo = target.GetRequiredService<IDeadLetterStore>();
        yield return CopySet.Of("dead letters", letters.All, lettersTo.All, lettersTo.Import);
        var ledger = source.GetRequiredService<IImportLedger>();
        var ledgerTo = target.GetRequiredService<IImportLedger>();
        yield return CopySet.Of("import ledger", ledger.All, ledgerTo.All, c => ledgerTo.Record(c), chunk: Page);
        var stats = source.GetRequiredService<IIngestStatisticsStore>();
        var statsTo = target.GetRequiredService<IIngestStatisticsStore>();
        yield return CopySet.Of("ingest counts", () => stats.Load(0), () => statsTo.Load(0),
            c => statsTo.Save(c.ToDictionary(h => h.Key, h => h.Value), 0));
        var violations = source.GetRequiredService<TrackingPlans.IViolationStore>();
        var violationsTo = target.GetRequiredService<TrackingPlans.IViolationStore>();
        yield return CopySet.Of("tracking plan violations", () => InOrder(violations.Load(0)), () => InOrder(violationsTo.Load(0)), c => violationsTo.Add(c, 0));
    }

    private static IEnumerable<TrackingPlans.ViolationRow> InOrder(IEnumerable<TrackingPlans.ViolationRow> rows) =>
        rows.OrderBy(r => string.Join('\u241f', r.Hour.ToString("D20", System.Globalization.CultureInfo.InvariantCulture), r.Source, r.Type, r.Event, r.Property, r.Kind), StringComparer.Ordinal);

    private static IEnumerable<LoggedEvent> Events(IEventLogStore store) =>
        CopySet.Paged<LoggedEvent>(last => store.ReadAfter(last?.Sequence ?? 0, long.MaxValue, Page), Page);

    /// <summary>Appends runs of consecutive events received at the same time, each as one append of the target's log.</summary>
    private static void Append(IEventLogStore to, IReadOnlyList<LoggedEvent> events)
    {
        var start = 0;
        for (var i = 1; i <= events.Count; i++)
        {
            if (i < events.Count && events[i].ReceivedAt == events[start].ReceivedAt && events[i].Sequence == events[i - 1].Sequence + 1) continue;
            var run = events.Skip(start).Take(i - start).Select(e => new AcceptedEvent(e.Source, e.MessageId, e.Json.ToArray())).ToList();
            to.Append(events[start].Sequence, events[start].ReceivedAt, run, []);
            start = i;
        }
    }

    private static byte[] Bytes(LoggedEvent e) =>
        [.. BitConverter.GetBytes(e.Sequence), .. BitConverter.GetBytes(e.ReceivedAt.ToUniversalTime().Ticks), .. System.Text.Encoding.UTF8.GetBytes(e.Source + "\n" + e.MessageId + "\n"), .. e.Json.Span];
}

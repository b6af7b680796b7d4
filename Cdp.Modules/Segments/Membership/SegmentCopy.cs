using System.Text.Json;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.Copy;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Segments.Membership;

/// <summary>
/// Segments' part of <c>storage copy</c>: definitions and the number counter, the live counts, the kept counters, each
/// profile's segment state, the members with their entry times, and the membership history under its own ids. The source
/// is only read (no segment lock is taken there); the target is written under its lock.
/// </summary>
[Service]
internal sealed class SegmentCopy : IStoreCopy
{
    public string Module => "Segments";

    public IEnumerable<CopySet> Sets(IServiceProvider source, IServiceProvider target)
    {
        var from = source.GetRequiredService<ISegmentStore>();
        var to = target.GetRequiredService<ISegmentStore>();
        var tx = target.GetRequiredService<IUnitOfWorkFactory>();
        void Write(Action<ISegmentWrites> write) => tx.InTransaction(t => write(to.Lock(t, DateTime.UtcNow)));

        yield return CopySet.Of("definitions", from.Definitions, to.Definitions, c => Write(w => { foreach (var d in c) w.PutDefinition(d); }));
        yield return CopySet.One("number counter", from.StoredNextNumber, to.StoredNextNumber, n => { if (n is { } next) Write(w => w.SetNextNumber(next)); });
        yield return CopySet.One("live counts", from.Live, to.Live, live => Write(w => w.SaveLive(live)), Canonical);
        yield return CopySet.One("kept counters", from.KeptCounters, to.KeptCounters, kept => Write(w => w.SaveKeptCounters(kept)), Sorted);
        yield return CopySet.Of("profile states", () => from.States(long.MinValue, long.MaxValue).Values, () => to.States(long.MinValue, long.MaxValue).Values,
            c => Write(w => { foreach (var s in c) w.SaveState(s); }), Canonical);
        var numbers = from.Definitions().Select(d => d.No).Order().ToList();
        yield return CopySet.Of("members", () => numbers.SelectMany(no => from.Members(no).Select(m => (No: no, m.Profile, m.At))),
            () => numbers.SelectMany(no => to.Members(no).Select(m => (No: no, m.Profile, m.At))),
            c => Write(w => { foreach (var m in c) w.AddMember(m.No, m.Profile, m.At); }));
        yield return CopySet.Of("history", () => History(from), () => History(to), c => Write(w => w.ImportHistory(c)));
    }

    private static IEnumerable<MembershipEntry> History(ISegmentStore store) =>
        CopySet.Paged<MembershipEntry>(last => store.History(null, null, last?.Id, 1000), 1000);

    private static byte[] Canonical(SegmentLive live) => JsonSerializer.SerializeToUtf8Bytes(new
    {
        Counts = live.Counts.OrderBy(c => c.Key).ToList(),
        Times = live.Times.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => (t.Key, t.Value.ToUniversalTime().Ticks)).ToList(),
    }, CopySet.Canonical);

    private static byte[] Sorted(IReadOnlyDictionary<string, int> kept) =>
        JsonSerializer.SerializeToUtf8Bytes(kept.OrderBy(k => k.Key, StringComparer.Ordinal).ToList(), CopySet.Canonical);

    private static byte[] Canonical(ProfileSegmentState s) => JsonSerializer.SerializeToUtf8Bytes(new
    {
        s.Profile,
        Members = s.Members.Order().ToList(),
        Counters = s.Counters.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, c.Value.Total, c.Value.Days.ToList())).ToList(),
    }, CopySet.Canonical);
}

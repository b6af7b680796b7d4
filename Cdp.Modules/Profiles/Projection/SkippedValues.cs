using System.Collections.Concurrent;
using System.Text.Json;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// What a profile (or account) did not take from its events: values of the wrong type and values over the limits
/// (<see cref="ProfileLimits"/>). Stored on the document as <c>{ c: { field: count }, r: [ { s: sequence, f: field, m: reason } ] }</c>,
/// the last <see cref="RecentReasons"/> reasons, newest last. Fields are a closed vocabulary so counts and metric labels
/// stay bounded: <c>traits</c>, <c>computed.&lt;name&gt;</c>, <c>consent</c>, <c>groups</c>, <c>event_names</c>.
/// </summary>
internal static class SkippedValues
{
    public const string Traits = "traits";
    public const string Consent = "consent";
    public const string Groups = "groups";
    public const string EventNames = "event_names";

    public static string Computed(string trait) => "computed." + trait;

    /// <summary>Reasons kept per document: enough to see what goes wrong, bounded whatever the stream.</summary>
    public const int RecentReasons = 10;

    /// <summary>Characters of a reason (the path and a short view of the value are cut to fit).</summary>
    private const int MaxReasonLength = 240;

    public static void Add(TreeDocument record, string field, string reason, long sequence)
    {
        var counts = record.TryGetValue("c", out var c) && c.IsDocument ? c.AsDocument : (TreeDocument)(record["c"] = new TreeDocument());
        counts[field] = (counts.TryGetValue(field, out var n) && n.IsNumber ? n.AsInt64 : 0) + 1;
        var recent = record.TryGetValue("r", out var r) && r.IsArray ? r.AsArray : (TreeArray)(record["r"] = new TreeArray());
        while (recent.Count >= RecentReasons) recent.RemoveAt(0);
        recent.Add(new TreeDocument { ["s"] = sequence, ["f"] = field, ["m"] = reason.Length <= MaxReasonLength ? reason : reason[..(MaxReasonLength - 3)] + "..." });
    }

    /// <summary>Folds a merged-away profile's record into the winner's: counts add up, the reasons stay the newest by sequence.</summary>
    public static void Merge(TreeDocument record, TreeDocument loser)
    {
        if (loser.TryGetValue("c", out var lc) && lc.IsDocument)
        {
            var counts = record.TryGetValue("c", out var c) && c.IsDocument ? c.AsDocument : (TreeDocument)(record["c"] = new TreeDocument());
            foreach (var (field, n) in lc.AsDocument)
                if (n.IsNumber) counts[field] = (counts.TryGetValue(field, out var m) && m.IsNumber ? m.AsInt64 : 0) + n.AsInt64;
        }
        if (loser.TryGetValue("r", out var lr) && lr.IsArray && lr.AsArray.Count > 0)
        {
            var all = (record.TryGetValue("r", out var r) && r.IsArray ? r.AsArray : []).Concat(lr.AsArray)
                .Where(x => x.IsDocument).OrderBy(x => x["s"].IsNumber ? x["s"].AsInt64 : 0).ToList();
            record["r"] = new TreeArray(all.Skip(Math.Max(0, all.Count - RecentReasons)));
        }
    }

    public static ProfileSkips View(TreeDocument record)
    {
        if (record.Count == 0) return ProfileSkips.None;
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        if (record.TryGetValue("c", out var c) && c.IsDocument)
            foreach (var (field, n) in c.AsDocument) if (n.IsNumber) counts[field] = n.AsInt64;
        var recent = new List<SkippedValue>();
        if (record.TryGetValue("r", out var r) && r.IsArray)
            foreach (var x in r.AsArray)
                if (x.IsDocument && x["s"].IsNumber && x["f"].IsString && x["m"].IsString)
                    recent.Add(new SkippedValue(x["s"].AsInt64, x["f"].AsString, x["m"].AsString));
        return new ProfileSkips(counts, recent);
    }

    /// <summary>A short view of a JSON value for a reason: its kind and, for scalars, its first characters.</summary>
    public static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => "the string \"" + Cut(v.GetString()!) + "\"",
        JsonValueKind.Number => "the number " + Cut(v.GetRawText()),
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => "null",
    };

    public static string Cut(string s) => s.Length <= 40 ? s : s[..37] + "...";
}

/// <summary>
/// Where the processor records skipped values while it applies one event: the document's record, the event's sequence,
/// and the batch's counts (added to <see cref="SkippedValueMetrics"/> once the batch committed).
/// </summary>
internal sealed class SkipSink
{
    private readonly Dictionary<string, long> _batch = new(StringComparer.Ordinal);

    public TreeDocument Record { get; set; } = new();

    public long Sequence { get; set; }

    public void Add(string field, string reason)
    {
        SkippedValues.Add(Record, field, reason, Sequence);
        _batch[field] = _batch.GetValueOrDefault(field) + 1;
    }

    public void Committed(SkippedValueMetrics? metrics)
    {
        if (metrics is not null) foreach (var (field, n) in _batch) metrics.Add(field, n);
        _batch.Clear();
    }
}

/// <summary><c>cdp_profile_values_skipped_total{field}</c>: values the processor did not take (wrong type, over a limit), since start.</summary>
[Service]
internal sealed class SkippedValueMetrics : IMetricsSource
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public void Add(string field, long n) => _counts.AddOrUpdate(field, n, (_, v) => v + n);

    public long Get(string field) => _counts.GetValueOrDefault(field);

    public void Register(CdpMetrics metrics) => metrics.Counter("cdp_profile_values_skipped_total",
        "Values in events that a profile did not take since start: of the wrong type for what reads them, or over a limit (Cdp:Profiles:Limits). The profile's 'skipped' says which and why.",
        () => _counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => ((IReadOnlyList<(string, string)>)[("field", c.Key)], c.Value)));
}

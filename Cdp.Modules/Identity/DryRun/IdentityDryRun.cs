using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Identity.Graph;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Identity.DryRun;

/// <summary>Rule dry run: two in-memory graphs fed the same log; the database is only read (log and unmerge decisions).</summary>
[Service]
internal sealed class IdentityDryRun(IEventLog log, IIdentityStore store, IOptions<IdentityOptions> current) : IIdentityDryRun
{
    private const int ReadSize = 5000;

    public DryRunReport Run(string proposedSettingsFile, Action<long, long>? progress = null, int maxExamples = 20)
    {
        var proposed = new IdentityOptions();
        var errors = new List<string>();
        try
        {
            var config = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(proposedSettingsFile), optional: false).Build();
            var section = config.GetSection(IdentityOptions.Section).Exists() ? config.GetSection(IdentityOptions.Section)
                : config.GetSection("Identity").Exists() ? config.GetSection("Identity") : (IConfiguration)config;
            section.Bind(proposed);
            errors.AddRange(new IdentityOptionsValidator().Validate(proposed).Errors.Select(e => $"{e.PropertyName}: {e.ErrorMessage}"));
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or FormatException or InvalidOperationException)
        {
            errors.Add(ex.Message);
        }
        if (errors.Count > 0) return new DryRunReport(0, 0, 0, 0, 0, 0, 0, [], errors);

        var directives = store.Unmerges().ToList();
        var now = IdentityGraph.InMemory(current.Value, directives);
        var next = IdentityGraph.InMemory(proposed, directives);
        long after = 0, events = 0, head = log.LastSequence;
        while (after < head)
        {
            var batch = log.ReadAfter(after, ReadSize);
            if (batch.Count == 0) break;
            var a = now.BeginBatch();
            var b = next.BeginBatch();
            foreach (var e in batch)
            {
                using var doc = JsonDocument.Parse(e.Json);
                a.Resolve(e, doc.RootElement);
                b.Resolve(e, doc.RootElement);
            }
            a.Committed();
            b.Committed();
            after = batch[^1].Sequence;
            events += batch.Count;
            progress?.Invoke(events, head);
        }
        return Compare(events, Owners(now), Owners(next), maxExamples);
    }

    /// <summary>identifier key -> live profile number.</summary>
    private static Dictionary<string, long> Owners(IdentityGraph g)
    {
        var owners = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var n in g.MemoryNodes.Values)
            if (n.Into == 0) foreach (var i in n.Ids) owners[i.Key] = n.Profile;
        return owners;
    }

    private static DryRunReport Compare(long events, Dictionary<string, long> now, Dictionary<string, long> next, int maxExamples)
    {
        var examples = new List<DryRunExample>();
        int merges = 0, splits = 0;
        foreach (var (kind, from, to) in new[] { ("merge", now, next), ("split", next, now) })
        {
            // a profile of "to" whose identifiers come from several profiles of "from"
            foreach (var group in to.GroupBy(kv => kv.Value))
            {
                var sources = group.Where(kv => from.ContainsKey(kv.Key)).GroupBy(kv => from[kv.Key]).ToList();
                if (sources.Count < 2) continue;
                if (kind == "merge") merges++; else splits++;
                if (examples.Count(x => x.Kind == kind) < maxExamples)
                    examples.Add(new DryRunExample(kind, sources.OrderBy(s => s.Key)
                        .Select(s => (IReadOnlyList<string>)s.Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList()).ToList()));
            }
        }
        return new DryRunReport(events, now.Values.Distinct().Count(), next.Values.Distinct().Count(), merges, splits,
            now.Keys.Count(k => !next.ContainsKey(k)), next.Keys.Count(k => !now.ContainsKey(k)), examples, []);
    }
}

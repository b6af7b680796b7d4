using System.Text;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using CsCheck;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.Profiles;

/// <summary>
/// Property: for random event streams (small identifier pools so that merges, limit refusals, blocked values and
/// the blob guard all happen), the incrementally processed state equals the state `reprocess` rebuilds from the log.
/// Survivorship rules of every kind (and a MostFrequent bound the values exceed) are configured, and the events come from
/// two sources, so the candidates stored on the profiles are part of the compared state.
/// </summary>
public sealed class RebuildPropertyTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>LiteDB only, whatever CDP_TEST_PROVIDER says: compares the LiteDB documents (ProjectionSnapshot) of a rebuild and of the incremental run.</summary>
    private const string LiteDbOnlyBecause = "compares the LiteDB documents (ProjectionSnapshot) of a rebuild and of the incremental run";

    private static readonly string[] Anonymous = Enumerable.Range(0, 14).Select(i => "a" + i).ToArray();
    private static readonly string[] Users = ["u0", "u1", "u2", "u3", "undefined"];
    private static readonly string[] Emails = ["e0@example.com", "E0@Example.com", "e1@example.com", "e.2+x@gmail.com", "e2@gmail.com", "test@test.com", "team@example.com"];
    private static readonly string[] Phones = ["+12015550123", "(201) 555-0124", "+44 20 7946 0958", "0000000"];
    private static readonly string[] Names = ["Ann", "Ben", "Cat", "Dan"];

    /// <summary>One generated event as Segment JSON (already in the log's normalised shape).</summary>
    internal static readonly Gen<string> Event = EventIn(0);

    /// <summary>
    /// An event of one of four groups of people, each with its own anonymous ids, user ids, emails (team@ included), phones
    /// and devices: the identity graph falls into separate components, so an unmerge replays only part of the log, and
    /// what it leaves out must not matter. (Within one group, as in <see cref="Event"/>, everything ends up connected.)
    /// </summary>
    internal static readonly Gen<string> GroupedEvent = Gen.Int[0, 3].SelectMany(EventIn);

    /// <summary>Group 0 uses the values as they are; group g prefixes the group's own values with "g{g}-" (phones: its own numbers).</summary>
    private static Gen<string> EventIn(int group)
    {
        string Own(string value) => group == 0 || value is "undefined" or "test@test.com" ? value : $"g{group}-{value}";
        return Gen.Select(Gen.Int[0, 9], Gen.Int[0, Anonymous.Length - 1], Gen.Int[0, Users.Length], Gen.Int[0, Emails.Length], Gen.Int[0, Phones.Length])
            .Select(Gen.Int[0, Names.Length - 1], Gen.Int[0, 400], Gen.Int[0, 3], (t, name, minute, device) =>
            {
                var (kind, anon, user, email, phone) = t;
                var ts = new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(minute).ToString("O");
                var sb = new StringBuilder("{");
                var type = kind switch { <= 3 => "page", <= 5 => "track", <= 8 => "identify", _ => "group" };
                sb.Append($"\"type\":\"{type}\",\"messageId\":\"{Guid.NewGuid()}\",\"timestamp\":\"{ts}\",\"receivedAt\":\"{ts}\"");
                sb.Append($",\"anonymousId\":\"{Own(Anonymous[anon])}\"");
                if (user < Users.Length && kind >= 5) sb.Append($",\"userId\":\"{Own(Users[user])}\"");
                var traits = new List<string>();
                if (email < Emails.Length) traits.Add($"\"email\":\"{Own(Emails[email])}\"");
                if (phone < Phones.Length && kind >= 7) traits.Add($"\"phone\":\"{(group == 0 || phone == 3 ? Phones[phone] : $"+44 20 7946 0{group}{phone}0")}\"");
                traits.Add($"\"name\":\"{Names[name]}\",\"address\":{{\"city\":\"{Names[name]}ville\",\"zip\":{minute}}}");
                switch (type)
                {
                    case "page": sb.Append($",\"name\":\"P{minute % 3}\""); break;
                    case "track": sb.Append($",\"event\":\"Order Completed\",\"properties\":{{\"revenue\":{minute % 50},\"sku\":\"s{minute % 4}\"}}"); break;
                    case "identify": sb.Append(",\"traits\":{").Append(string.Join(',', traits)).Append('}'); break;
                    default: sb.Append($",\"groupId\":\"g{minute % 2}\",\"traits\":{{\"plan\":\"{Names[name]}\"}}"); break;
                }
                if (device > 0) sb.Append($",\"context\":{{\"device\":{{\"id\":\"{Own("dev" + device)}\"}}{(kind == 5 && email < Emails.Length ? $",\"traits\":{{\"email\":\"{Own(Emails[email])}\"}}" : "")}}}");
                return sb.Append('}').ToString();
            });
    }

    private static Dictionary<string, string?> Settings() => new()
    {
        ["Cdp:Profiles:BatchSize"] = "7", // small batches: batch boundaries must not matter
        ["Cdp:Profiles:CatchUpBatchSize"] = "7",
        ["Cdp:Identity:MaxProfilesPerIdentifier"] = "5",
        ["Cdp:Identity:MaxMergesPerProfile"] = "6",
        ["Cdp:Identity:Types:email:Limit"] = "2",
        ["Cdp:Profiles:ComputedTraits:skus:Kind"] = "Unique",
        ["Cdp:Profiles:ComputedTraits:skus:Property"] = "sku",
        ["Cdp:Profiles:ComputedTraits:first_page:Kind"] = "First",
        ["Cdp:Profiles:ComputedTraits:first_page:Type"] = "page",
        ["Cdp:Profiles:ComputedTraits:first_page:Property"] = "path",
        ["Cdp:Profiles:ComputedTraits:max_revenue:Kind"] = "Max",
        ["Cdp:Profiles:ComputedTraits:max_revenue:Property"] = "revenue",
        ["Cdp:Profiles:ComputedTraits:max_revenue:Window"] = "7.00:00:00",
        // survivorship rules of every kind, over values that disagree, with a candidate bound the four names exceed
        ["Cdp:Profiles:Survivorship:MaxCandidates"] = "3",
        ["Cdp:Profiles:Survivorship:Traits:name:Rule"] = "MostFrequent",
        ["Cdp:Profiles:Survivorship:Traits:email:Rule"] = "FirstSeen",
        ["Cdp:Profiles:Survivorship:Traits:phone:Rule"] = "SourcePriority",
        ["Cdp:Profiles:Survivorship:Traits:phone:Sources:0"] = "crm",
        ["Cdp:Profiles:Survivorship:Traits:phone:Sources:1"] = "web",
        ["Cdp:Profiles:Survivorship:Traits:address:Rule"] = "Longest",
        ["Cdp:Profiles:Survivorship:Traits:address.zip:Rule"] = "NeverOverwrite",
    };

    internal static Task Append(CdpHost host, IEnumerable<string> events) => Append(host, events, mixedSources: false);

    /// <summary><paramref name="mixedSources"/>: about half the events come from the source "crm" (by their messageId), the rest from "web".</summary>
    internal static async Task Append(CdpHost host, IEnumerable<string> events, bool mixedSources)
    {
        var accepted = events.Select(json =>
        {
            var messageId = System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("messageId").GetString()!;
            return new AcceptedEvent(mixedSources && messageId[0] < '8' ? "crm" : "web", messageId, Encoding.UTF8.GetBytes(json));
        }).ToList();
        (await host.Service<EventLogWriter>().SubmitAsync(accepted, [])).Should().Be(SubmitOutcome.Committed);
    }

    private static async Task<string> Rebuilt(CdpHost host)
    {
        await host.Service<IProfileProcessor>().ReprocessAsync(CancellationToken.None);
        await host.Processed();
        return ProjectionSnapshot.Take(host.Service<CdpDatabase>());
    }

    [Fact]
    public async Task Rebuilding_from_the_log_gives_the_incremental_state_for_random_streams()
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, Settings());
        await Gen.Int[1, 6].SelectMany(n => Event.Array[n * 10, n * 25]).SampleAsync(async events =>
        {
            await Append(host, events.Take(events.Length / 2), mixedSources: true);
            await host.Processed();
            await Append(host, events.Skip(events.Length / 2), mixedSources: true);
            await host.Processed();
            var incremental = ProjectionSnapshot.Take(host.Service<CdpDatabase>());
            incremental.Should().Contain("sv:", "the profiles hold survivorship candidates, compared with the rest");
            var rebuilt = await Rebuilt(host);
            rebuilt.Should().Be(incremental);
            host.Service<IProfileProcessor>().Status.LastError.Should().BeNull();
        }, iter: 12, threads: 1);
    }

    /// <summary>
    /// One round of the unmerge property: events appended and processed, an unmerge of one of the stored merges (the
    /// index picks it), more events processed.
    /// </summary>
    private static readonly Gen<(string[] Before, string[] After, int Pick)> UnmergeRound =
        Gen.Select(GroupedEvent.Array[40, 120], GroupedEvent.Array[0, 40], Gen.Int[0, 1000]);

    /// <summary>
    /// A sample is a whole history on a fresh host: <paramref name="least"/> to <paramref name="most"/> rounds, so the log
    /// grows to thousands of events and the unmerge decisions pile up (including unmerges of a merge id freed by an
    /// earlier unmerge). A sample depends on its seed only, so a failing seed printed by CsCheck replays the same history.
    /// </summary>
    private static Gen<(string[] Before, string[] After, int Pick)[]> UnmergeHistory(int least, int most) => UnmergeRound.Array[least, most];

    /// <summary>
    /// The random run: one history of 60 to 80 rounds (the size at which the old single-host test, 80 rounds, diverged
    /// about once in three runs; ~1 minute here). CDP_UNMERGE_ITER (histories) and CDP_UNMERGE_ROUNDS (exact rounds)
    /// override it for a long run, e.g. CDP_UNMERGE_ITER=10 CDP_UNMERGE_ROUNDS=80. A failure names its seed and round:
    /// CsCheck_Seed=&lt;seed&gt; with the same CDP_UNMERGE_ROUNDS replays that history (pin it as a regression case).
    /// </summary>
    private const int UnmergeSamples = 1, UnmergeRounds = 80;

    [Fact]
    public async Task Rebuilding_after_unmerges_gives_the_incremental_state()
    {
        var iter = int.TryParse(Environment.GetEnvironmentVariable("CDP_UNMERGE_ITER"), out var it) ? it : UnmergeSamples;
        // CDP_UNMERGE_ROUNDS=80: every history has exactly 80 rounds, so that a failing seed can be pinned with (seed, 80, round)
        var history = int.TryParse(Environment.GetEnvironmentVariable("CDP_UNMERGE_ROUNDS"), out var r) ? UnmergeHistory(r, r) : UnmergeHistory(UnmergeRounds * 3 / 4, UnmergeRounds);
        await history.SampleAsync(RunUnmergeHistory, iter: iter, threads: 1, print: Describe);
        output.WriteLine($"{_unmerges} unmerges replayed {_replayed} events in all ({(double)_replayed / Math.Max(1, _unmerges):F0} each, at most {_largest}), "
            + $"{100.0 * _replayed / Math.Max(1, _logged):F1}% of the log at the time");
        _unmerges.Should().BeGreaterThan(0, "the generator must produce merges for this property to mean anything");
    }

    private static string Describe((string[] Before, string[] After, int Pick)[] rounds) =>
        $"{rounds.Length} rounds, {rounds.Sum(r => r.Before.Length + r.After.Length)} events";

    private int _unmerges;
    private long _replayed, _logged, _largest;

    private static Dictionary<string, string?> UnmergeSettings()
    {
        var settings = Settings();
        // segments that the generated events enter and leave (no time window: the events are months old)
        settings["Cdp:Segments:buyers:Name"] = "Buyers";
        settings["Cdp:Segments:buyers:Where"] = "performed \"Order Completed\" at least 2 times";
        settings["Cdp:Segments:readers:Name"] = "Readers";
        settings["Cdp:Segments:readers:Where"] = "performed page at least 3 times and not traits.name = \"Dan\"";
        settings["Cdp:Segments:sku1:Name"] = "Bought s1";
        settings["Cdp:Segments:sku1:Where"] = "computed.skus = \"s1\" or traits.address.city = \"Annville\"";
        return settings;
    }

    private async Task RunUnmergeHistory((string[] Before, string[] After, int Pick)[] rounds)
    {
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, UnmergeSettings());
        var db = host.Service<CdpDatabase>();
        for (var round = 0; round < rounds.Length; round++)
        {
            var (before, after, pick) = rounds[round];
            await Append(host, before, mixedSources: true);
            await host.Processed();
            var ids = db.Collection("identity_merges").FindAll().Select(d => d["_id"].AsString).ToList();
            string? unmerged = null;
            if (ids.Count > 0)
            {
                unmerged = ids[pick % ids.Count];
                var result = await host.Service<IProfileProcessor>().UnmergeAsync(unmerged, CancellationToken.None);
                result.Should().NotBeNull();
                _unmerges++;
                _replayed += result!.EventsReplayed;
                _largest = Math.Max(_largest, result.EventsReplayed);
                _logged += host.Service<IEventLog>().LastSequence;
            }
            await Append(host, after, mixedSources: true);
            await host.Processed();
            var incremental = ProjectionSnapshot.Take(db) + SegmentSnapshot(db);
            var rebuilt = await Rebuilt(host);
            rebuilt += SegmentSnapshot(db);
            if (rebuilt != incremental && Environment.GetEnvironmentVariable("CDP_DEBUG_DIR") is { } dir)
            {
                File.WriteAllText(Path.Combine(dir, "incremental.txt"), incremental);
                File.WriteAllText(Path.Combine(dir, "rebuilt.txt"), rebuilt);
            }
            if (rebuilt != incremental)
                throw new Xunit.Sdk.XunitException($"round {round + 1} of {rounds.Length} (unmerge {unmerged ?? "none"}): the rebuild differs\n{Difference(incremental, rebuilt)}");
        }
    }

    /// <summary>
    /// Segment state comparable between an unmerge and a rebuild: the profiles' counters and memberships, each segment's
    /// members and count, and the membership the history ends with (its entries' times and causes differ by nature: an
    /// unmerge records exits and entries where a rebuild records only the replay's).
    /// </summary>
    private static string SegmentSnapshot(CdpDatabase db)
    {
        var sb = new StringBuilder("## segments\n");
        foreach (var d in db.Collection("segment_profiles").FindAll().OrderBy(d => d["_id"]))
            sb.Append(d["_id"].AsInt64).Append(' ').Append(string.Join(",", d["c"].AsDocument.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}")))
                .Append(' ').Append(d["m"].ToString()).AppendLine();
        var live = db.Collection("segment_state").FindById("live");
        if (live?["n"] is { IsDocument: true } counts)
            sb.Append("counts ").AppendLine(string.Join(",", counts.AsDocument.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value.AsInt64}")));
        foreach (var name in db.Database.GetCollectionNames().Where(n => n.StartsWith("segment_members_", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            sb.Append(name).Append(' ').AppendLine(string.Join(",", db.Collection(name).FindAll().Select(d => d["_id"].AsString).Order(StringComparer.Ordinal)));
        var last = new SortedDictionary<(int, long), bool>();
        foreach (var h in db.Collection("segment_history").FindAll().OrderBy(d => d["_id"]))
            last[(h["s"].AsInt32, h["p"].AsInt64)] = h["in"].AsBoolean;
        sb.Append("history ends in ").AppendLine(string.Join(",", last.Where(p => p.Value).Select(p => $"{p.Key.Item1}:{p.Key.Item2}")));
        return sb.ToString();
    }

    /// <summary>The lines only one side has (a few of each), to read a divergence without the whole dump.</summary>
    private static string Difference(string incremental, string rebuilt)
    {
        var a = incremental.Split('\n');
        var b = rebuilt.Split('\n');
        var onlyA = a.Except(b).Take(8).Select(l => "incremental only: " + l);
        var onlyB = b.Except(a).Take(8).Select(l => "rebuilt only:     " + l);
        return string.Join('\n', onlyA.Concat(onlyB));
    }
}

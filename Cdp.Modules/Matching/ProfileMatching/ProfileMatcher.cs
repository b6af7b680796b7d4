using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Matching.Engine;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Logging;
using Cdp.Modules.Matching.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>
/// Probabilistic matching over the live profiles. A run: reads the journal (profiles changed since the last run),
/// turns every live profile into a match record (comparison fields = trait paths), blocks, compares and scores the
/// candidate pairs that touch a changed profile (all of them with full), then routes each pair at or above Review:
/// a pair already rejected (or unmerged) is skipped; a pair the merge rules refuse (different user_ids, quarantine,
/// limits) goes to review with the reason; at or above AutoMerge it is merged through the processor (a link), else
/// it is queued for review. One run at a time.
/// </summary>
[Service]
internal sealed class ProfileMatcher(
    IMatchingStore matchingData, MatchingEngine engine, MatchingStore store, ReviewQueue review, IProfileReader profiles,
    IProfileProcessor processor, IIdentityDirectory directory, IMatchDecisions decisions, MemberGuard guard, ILogger<ProfileMatcher> log,
    HostLead lead) : IProfileMatching
{
    /// <summary>Profiles read per page while building the records.</summary>
    private const int PageSize = 2_000;

    /// <summary>EM on fewer candidate pairs than this learns noise: the run reports it and routes nothing until there are more.</summary>
    public const int MinTrainingPairs = 50;

    /// <summary>Links per processor command: one transaction each, short enough not to hold up event processing.</summary>
    private const int LinksPerCommand = 500;

    /// <summary>A comparison or blocking field fewer profiles than this share have is reported (a misspelt or retired trait).</summary>
    public const double RareFieldShare = 0.01;

    private readonly SemaphoreSlim _running = new(1, 1);

    public IReadOnlyList<MatchRunReport> RecentRuns(int take) => store.RecentRuns(take);

    public async Task<MatchRunReport> RunAsync(bool full, bool retrain, string trigger, CancellationToken cancellationToken)
    {
        // a run merges through the processor and reads its journal: with several hosts it runs where the processor runs,
        // refused at once elsewhere rather than after the comparisons (the scheduled run is queued for the leading host)
        if (!lead.Leads)
            throw new ProcessorUnavailableException("matching runs on the host that runs the profile processor, and this host does not " +
                $"(Cdp:Storage:Hosts = Several): {processor.Status.Leader ?? "another host"} does; send the request there");
        if (!await _running.WaitAsync(0, cancellationToken)) throw new MatchingBusyException();
        try
        {
            var report = await RunLockedAsync(full, retrain, trigger, cancellationToken);
            store.SaveRun(report);
            foreach (var w in report.FieldWarnings ?? [])
                log.LogWarning("Matching run {Id}: {Warning}", report.Id, w.Message);
            log.LogInformation("Matching run {Id} ({Trigger}{Full}): {Compared}/{Profiles} profiles compared, {Pairs} candidate pairs, {Merged} merged, {Queued} queued, {Rejected} skipped as rejected{Note}",
                report.Id, trigger, full ? ", full" : "", report.ProfilesCompared, report.Profiles, report.CandidatePairs, report.AutoMerged,
                report.QueuedForReview, report.SkippedAsRejected, report.Note is null ? "" : "; " + report.Note);
            return report;
        }
        finally
        {
            _running.Release();
        }
    }

    private async Task<MatchRunReport> RunLockedAsync(bool full, bool retrain, string trigger, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var id = "mr-" + started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];
        var plan = engine.Plan;

        // the journal is read before the profiles: a change committed meanwhile is seen now or by the next run
        var journal = matchingData.ReadJournal();
        var changed = journal.Profiles;
        var (records, present) = ReadRecords(plan, ct);
        var fieldWarnings = FieldWarnings(plan, records.Count, present);
        var encoded = EncodedRecords.Encode(plan, records);
        var numbers = records.Select(r => ProfileIdsOf(r.Id)).ToArray();
        var touching = numbers.Select(n => full || changed.Contains(n)).ToArray();
        var compared = touching.Count(t => t);

        var model = retrain ? null : store.LoadModel(plan);
        var training = model is null;
        var candidates = Blocking.FindCandidates(encoded, LinkType.Dedupe, training || full ? null : touching);
        var comparer = new PairComparer(encoded);
        var patterns = MatchingEngine.CompareCandidates(comparer, candidates);
        string? note = null;
        if (model is null)
        {
            if (candidates.Count < MinTrainingPairs)
            {
                note = $"no model yet and too little data to train one: {candidates.Count} candidate pairs among {records.Count} profiles, at least {MinTrainingPairs} needed; nothing was routed";
                return Report(0, 0, 0, 0, 0, 0, false, null, note);
            }
            var u = ParameterEstimation.EstimateU(comparer, LinkType.Dedupe, plan.Options.Training.USamplePairs, plan.Options.Training.Seed);
            model = ParameterEstimation.Train(plan, candidates, patterns, u);
            store.SaveModel(model, records.Count, candidates.Count);
            note = $"model trained on {candidates.Count} candidate pairs among {records.Count} profiles";
        }

        var scorer = new PairScorer(model, encoded);
        var rejected = LivePairs(review.WithStatus(ReviewStatus.Rejected).Select(r => (r.Left, r.Right))
            .Concat(UndoneLinks()));
        var queued = LivePairs(review.WithStatus(ReviewStatus.Pending).Select(r => (r.Left, r.Right)));
        int above = 0, skipped = 0, already = 0, refused = 0, toReview = 0;
        var auto = new List<(ProfileLink Link, ReviewItem AsReview, int A, int B)>();
        var forReview = new List<ReviewItem>();
        for (var i = 0; i < candidates.Count; i++)
        {
            int a = candidates.Left[i], b = candidates.Right[i];
            if (!touching[a] && !touching[b]) continue;
            var weight = scorer.Weight(patterns[i], a, b);
            var route = plan.Route(weight);
            if (route == MatchRoute.None) continue;
            above++;
            var key = Key(numbers[a], numbers[b]);
            if (rejected.Contains(key)) { skipped++; continue; }
            if (queued.Contains(key)) { already++; continue; }
            var comparisons = Explain(plan, scorer, patterns[i], a, b, records);
            var probability = MatchProbability.FromWeight(weight);
            var refusal = directory.LinkRefusal(numbers[a], numbers[b]);
            var item = new ReviewItem(ReviewQueue.NewId(), ReviewStatus.Pending, numbers[a], numbers[b], probability, weight, DateTime.UtcNow, refusal, comparisons);
            if (route == MatchRoute.AutoMerge && refusal is null)
            {
                auto.Add((new ProfileLink(NewLinkId(), numbers[a], numbers[b], new MatchEvidence(probability, weight, "auto", comparisons)), item, a, b));
                continue;
            }
            forReview.Add(item);
        }

        // strongest first: when one profile matches several, the best pair decides who joins whom first
        var index = new Dictionary<long, int>(numbers.Length);
        for (var r = 0; r < numbers.Length; r++) index.TryAdd(numbers[r], r);
        MatchRecord? RecordOf(long profile) => index.TryGetValue(profile, out var r) ? records[r] : null;
        var ordered = auto.OrderByDescending(x => x.Link.Evidence.MatchWeight).Select(x => (x.Link, x.AsReview, x.A, x.B)).ToList();
        if (guard.Enabled) ordered = GuardChains(ordered, model, RecordOf, forReview);
        var merged = 0;
        foreach (var chunk in ordered.Chunk(LinksPerCommand))
        {
            var outcomes = await processor.LinkAsync(chunk.Select(x => x.Link).ToList(), CancellationToken.None);
            for (var k = 0; k < outcomes.Count; k++)
            {
                if (outcomes[k].Merge is not null) { merged++; continue; }
                if (outcomes[k].RefusalKind != LinkRefusalKind.Rules) continue;
                // refused once earlier links of this run had joined a third profile (e.g. two user_ids now meet)
                forReview.Add(chunk[k].AsReview);
            }
        }

        // queued after this run's merges, as pairs of the profiles they left: a pair they made one is no decision, and
        // several pairs that now join the same two profiles are one decision (the best-scored one is shown)
        if (merged > 0)
        {
            rejected = LivePairs(review.WithStatus(ReviewStatus.Rejected).Select(r => (r.Left, r.Right)).Concat(UndoneLinks()));
            queued = LivePairs(review.WithStatus(ReviewStatus.Pending).Select(r => (r.Left, r.Right)));
        }
        var sources = new Dictionary<long, int>();
        int Sources(long p) => sources.TryGetValue(p, out var n) ? n : sources[p] = (directory.Get(p)?.Merges ?? 0) + 1;
        var members = new Dictionary<long, List<Member>>();
        List<Member> Members(long p) => members.TryGetValue(p, out var m) ? m : members[p] = guard.MembersOf(p, RecordOf(p), Sources(p) - 1);
        var held = 0;
        foreach (var item in forReview.OrderByDescending(i => i.MatchWeight))
        {
            if (directory.LiveProfile(item.Left) is not { } a || directory.LiveProfile(item.Right) is not { } b || a == b) continue;
            var key = Key(a, b);
            if (rejected.Contains(key)) { skipped++; continue; }
            if (!queued.Add(key)) { already++; continue; }
            var refusal = directory.LinkRefusal(a, b);
            if (refusal is not null) refused++;
            // members that disagree strongly are named on the item (committed state: after this run's merges)
            else if (guard.Enabled && Sources(a) + Sources(b) > 2 && guard.Check(model, Members(a), Members(b)) is { Disagrees: true } check)
            {
                refusal = check.Describe();
                held++;
            }
            review.Add(item with { Left = a, Right = b, Reason = refusal, Impact = Sources(a) + Sources(b) });
            toReview++;
        }
        review.Reconcile(directory);
        matchingData.ConsumeJournal(journal);
        return Report(candidates.Count, above, merged, toReview, skipped, already, training, model.Lambda, note, refused, held);

        MatchRunReport Report(long pairs, int aboveReview, int autoMerged, int queuedForReview, int skippedRejected, int alreadyQueued,
            bool trained, double? prior, string? why, int refusedByRules = 0, int heldByMembers = 0) => new(
            id, trigger, full, started, clock.Elapsed.TotalSeconds, records.Count, compared, pairs,
            candidates?.Report.Select(r => new BlockingRuleCount(r.Rule, r.Pairs, r.NewPairs)).ToList() ?? [],
            aboveReview, autoMerged, queuedForReview, skippedRejected, alreadyQueued, refusedByRules, trained, prior, why,
            heldByMembers, fieldWarnings);
    }

    private static long ProfileIdsOf(string id) => ProfileIds.TryParse(id, out var no) ? no : 0;

    private static (long, long) Key(long a, long b) => a < b ? (a, b) : (b, a);

    public static string NewLinkId() => "pm-" + Guid.NewGuid().ToString("N")[..16];

    private IEnumerable<(long, long)> UndoneLinks() => decisions.Undone();

    /// <summary>Decided pairs as pairs of today's live profiles (a decision about x and y covers whatever now holds them).</summary>
    private HashSet<(long, long)> LivePairs(IEnumerable<(long Left, long Right)> pairs)
    {
        var live = new Dictionary<long, long?>();
        long? Live(long p) => live.TryGetValue(p, out var l) ? l : live[p] = directory.LiveProfile(p);
        var set = new HashSet<(long, long)>();
        foreach (var (left, right) in pairs)
            if (Live(left) is { } a && Live(right) is { } b && a != b) set.Add(Key(a, b));
        return set;
    }

    /// <summary>
    /// In a run, each auto-merge pair (strongest first) is checked against the members of both sides as this run's earlier
    /// links have grown them (a union of the sides, not yet committed): a chain A~B~C~D of one run stops at the link whose
    /// sides hold members that disagree strongly. That pair goes to review instead; the others carry the check in their
    /// merge evidence. A link the processor later refuses leaves the union larger than the truth: the guard errs towards review.
    /// </summary>
    private List<(ProfileLink Link, ReviewItem AsReview, int A, int B)> GuardChains(List<(ProfileLink Link, ReviewItem AsReview, int A, int B)> ordered,
        MatchModel model, Func<long, MatchRecord?> recordOf, List<ReviewItem> forReview)
    {
        var parent = new Dictionary<long, long>();
        var members = new Dictionary<long, List<Member>>();
        long Find(long p)
        {
            while (parent.TryGetValue(p, out var q)) p = q;
            return p;
        }
        List<Member> Members(long root) => members.TryGetValue(root, out var m) ? m
            : members[root] = guard.MembersOf(root, recordOf(root), directory.Get(root)?.Merges ?? 0);

        var kept = new List<(ProfileLink Link, ReviewItem AsReview, int A, int B)>(ordered.Count);
        foreach (var x in ordered)
        {
            var ra = Find(x.Link.Left);
            var rb = Find(x.Link.Right);
            if (ra == rb)
            {
                kept.Add(x); // already joined by this run: the processor answers "already one"
                continue;
            }
            var ma = Members(ra);
            var mb = Members(rb);
            var check = guard.Check(model, ma, mb);
            if (check is { Disagrees: true })
            {
                forReview.Add(x.AsReview with { Reason = check.Describe() });
                continue;
            }
            kept.Add(check is null ? x : x with { Link = x.Link with { Evidence = x.Link.Evidence with { MemberCheck = check.Describe() } } });
            parent[rb] = ra;
            var union = new List<Member>(ma);
            MemberGuard.Add(union, mb);
            members[ra] = union;
            members.Remove(rb);
        }
        return kept;
    }

    /// <summary>The fields a plan reads from each profile: comparison fields, Swapped With fields, blocking key fields.</summary>
    internal static string[] FieldsOf(ComparisonPlan plan) => plan.Comparisons.SelectMany(c => c.OtherFields.Prepend(c.Field))
        .Concat(plan.BlockingRules.SelectMany(r => r.Keys.Select(k => k.Field))).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>A profile as a match record.</summary>
    internal static MatchRecord RecordOf(ProfileView p, string[] fields)
    {
        var values = new Dictionary<string, string?>(fields.Length, StringComparer.Ordinal);
        foreach (var f in fields) values[f] = TraitValue(p.Traits, f);
        return new MatchRecord(p.Id, values);
    }

    /// <summary>Every live profile as a match record, and how many profiles hold a value in each field (same order as <see cref="FieldsOf"/>).</summary>
    private (List<MatchRecord> Records, int[] Present) ReadRecords(ComparisonPlan plan, CancellationToken ct)
    {
        var fields = FieldsOf(plan);
        var present = new int[fields.Length];
        var records = new List<MatchRecord>();
        long after = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var page = profiles.ListAfter(after, PageSize);
            if (page.Count == 0) break;
            foreach (var p in page)
            {
                var record = RecordOf(p, fields);
                for (var f = 0; f < fields.Length; f++)
                    if (!string.IsNullOrWhiteSpace(record.Fields[fields[f]])) present[f]++;
                records.Add(record);
            }
            after = ProfileIdsOf(page[^1].Id);
        }
        return (records, present);
    }

    /// <summary>
    /// Fields of the settings that no profile has (a misspelt field reads as "always missing" and silently weakens every
    /// score), or that fewer than <see cref="RareFieldShare"/> of the profiles have.
    /// </summary>
    internal static List<MatchFieldWarning> FieldWarnings(ComparisonPlan plan, int profiles, int[] present)
    {
        var warnings = new List<MatchFieldWarning>();
        if (profiles == 0) return warnings;
        var fields = FieldsOf(plan);
        for (var f = 0; f < fields.Length; f++)
        {
            var share = present[f] / (double)profiles;
            if (share >= RareFieldShare) continue;
            var field = fields[f];
            var usedBy = plan.Comparisons.Where(c => c.Field == field).Select(c => $"comparison {c.Name}")
                .Concat(plan.Comparisons.Where(c => c.Field != field && c.OtherFields.Contains(field, StringComparer.Ordinal)).Select(c => $"comparison {c.Name} (Swapped With)"))
                .Concat(plan.BlockingRules.Where(r => r.Keys.Any(k => k.Field == field)).Select(r => $"blocking rule {r.Name}")).ToList();
            var message = present[f] == 0
                ? $"no profile has the field '{field}' (used by {string.Join(", ", usedBy)}): it is always missing, so it never counts for or against a pair; check its spelling against the profiles' traits"
                : string.Create(CultureInfo.InvariantCulture, $"only {present[f]:N0} of {profiles:N0} profiles ({share:P1}) have the field '{field}' (used by {string.Join(", ", usedBy)})");
            warnings.Add(new MatchFieldWarning(field, usedBy, present[f], Math.Round(share, 6), message));
        }
        return warnings;
    }

    /// <summary>
    /// A trait by path: "email", or "address.city" (a trait literally named so first, then the nested one). Names match
    /// exactly first, then ignoring case (as the CSV import maps columns): field "firstName" reads a trait "FirstName".
    /// </summary>
    internal static string? TraitValue(JsonElement traits, string path)
    {
        if (traits.ValueKind != JsonValueKind.Object) return null;
        if (Property(traits, path, out var direct)) return Text(direct);
        var current = traits;
        foreach (var part in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !Property(current, part, out current)) return null;
        }
        return Text(current);

        static bool Property(JsonElement o, string name, out JsonElement value)
        {
            if (o.TryGetProperty(name, out value)) return true;
            foreach (var p in o.EnumerateObject())
            {
                if (!p.NameEquals(name) && string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    value = p.Value;
                    return true;
                }
            }
            return false;
        }

        static string? Text(JsonElement v) => v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => null,
        };
    }

    /// <summary>Each comparison's level, weight and both raw values (as the profiles hold them).</summary>
    private static List<MatchComparison> Explain(ComparisonPlan plan, PairScorer scorer, ulong pattern, int a, int b, List<MatchRecord> records)
    {
        var result = new List<MatchComparison>(plan.Comparisons.Length);
        for (var c = 0; c < plan.Comparisons.Length; c++)
        {
            var comparison = plan.Comparisons[c];
            var level = PairComparer.LevelOf(pattern, c);
            result.Add(new MatchComparison(comparison.Name, comparison.Levels[level].Label, Math.Round(scorer.ComparisonWeight(pattern, c, a), 4),
                records[a].Fields.GetValueOrDefault(comparison.Field), records[b].Fields.GetValueOrDefault(comparison.Field)));
        }
        return result;
    }
}

using System.Globalization;
using System.Text;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Matching.Engine;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Matching.ProfileMatching;

/// <summary>One record that went into a profile, with where it comes from ("p_12 now", "left side of merge pm-...").</summary>
internal sealed record Member(string Origin, MatchRecord Record);

/// <summary>
/// The worst cross pair of two profiles' members: <see cref="WorstWeight"/> is the sum of their comparison weights
/// (log2 odds, no prior, no term-frequency bonus), <see cref="Detail"/> the comparisons that weighed against.
/// </summary>
internal sealed record MemberCheck(int Pairs, double WorstWeight, double Limit, string LeftOrigin, string RightOrigin, string Detail)
{
    public bool Disagrees => WorstWeight <= -Limit;

    /// <summary>The reason a merge is held back (review item, 409), or why it was let through (merge evidence).</summary>
    public string Describe() => Disagrees
        ? string.Create(CultureInfo.InvariantCulture,
            $"members disagree strongly: {LeftOrigin} and {RightOrigin} weigh {WorstWeight:0.0} against each other on their own comparisons ({Detail}), at or below -{Limit:0.##} ({MemberGuard.SettingName}); merging would join records of different people through the ones between them: check it by hand")
        : string.Create(CultureInfo.InvariantCulture,
            $"members checked: {Pairs} cross pairs, the worst ({LeftOrigin} and {RightOrigin}) weighs {WorstWeight:0.0}, above -{Limit:0.##} ({MemberGuard.SettingName})");
}

/// <summary>
/// The "members disagree strongly" guard. A profile made by probabilistic merges keeps, in its merge records, both sides'
/// values of every comparison at the time of each merge: those records plus the profile's current traits are its
/// members. Before two profiles are linked, every member of one is compared with every member of the other (at most
/// <see cref="MaxMembersPerSide"/> a side, so at most ~1,000 small comparisons) with the run's model; a pair weighing at
/// most -DisagreementWeight stops the link. Members are compared whether or not they share a blocking key: the ends of a
/// chain (A~B~C~D, A and D different people) usually share none. Records joined by deterministic merges (identifiers)
/// are represented only by the profile's current traits, which they fed.
/// </summary>
[Service]
internal sealed class MemberGuard(MatchingEngine engine, IIdentityDirectory directory)
{
    public const string SettingName = "Cdp:Identity:Matching:MemberGuard:DisagreementWeight";

    /// <summary>Members compared per side: bounds a check at 32 x 32 comparisons (the newest merges are kept).</summary>
    public const int MaxMembersPerSide = 32;

    private MemberGuardOptions Options => engine.Plan.Options.MemberGuard;

    public bool Enabled => Options.Enabled;

    /// <summary>
    /// A live profile's members: <paramref name="current"/> (its traits now) first, then both sides of each probabilistic
    /// merge inside it, newest first; identical records once, at most <see cref="MaxMembersPerSide"/>.
    /// </summary>
    public List<Member> MembersOf(long profile, MatchRecord? current, int merges)
    {
        var members = new List<Member>();
        if (current is not null) members.Add(new Member(ProfileIds.Format(profile) + " now", current));
        if (merges == 0) return members;
        var plan = engine.Plan;
        var more = new List<Member>();
        foreach (var m in directory.MergeHistory(profile).Reverse())
        {
            if (m.Evidence is not { } ev || m.Undone) continue;
            more.Add(new Member($"{ProfileIds.Format(m.Winner)} as merged by {m.Id}", RecordOf(plan, ev.Comparisons, left: true)));
            more.Add(new Member($"{ProfileIds.Format(m.Loser)} as merged by {m.Id}", RecordOf(plan, ev.Comparisons, left: false)));
            if (more.Count >= MaxMembersPerSide * 2) break;
        }
        Add(members, more);
        return members;
    }

    /// <summary>
    /// The values a merge record or a review item keeps of one side. Which side was the winner is not kept with the
    /// values, so the origin names the merge; both records are members of the profile either way.
    /// </summary>
    public static MatchRecord RecordOf(ComparisonPlan plan, IReadOnlyList<MatchComparison> comparisons, bool left)
    {
        var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var c in comparisons)
        {
            var compiled = Array.Find(plan.Comparisons, x => x.Name == c.Name);
            if (compiled is null) continue; // a comparison of earlier settings
            fields[compiled.Field] = left ? c.Left : c.Right;
        }
        return new MatchRecord("member", fields);
    }

    /// <summary>Adds members not already there (same values), up to <see cref="MaxMembersPerSide"/>.</summary>
    public static void Add(List<Member> into, IEnumerable<Member> more)
    {
        var seen = into.Select(m => Signature(m.Record)).ToHashSet(StringComparer.Ordinal);
        foreach (var m in more)
        {
            if (into.Count >= MaxMembersPerSide) return;
            if (m.Record.Fields.Values.All(v => v is null)) continue;
            if (seen.Add(Signature(m.Record))) into.Add(m);
        }
    }

    private static string Signature(MatchRecord r) =>
        string.Join('\u001f', r.Fields.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value));

    /// <summary>
    /// The worst cross pair of members, or null when there is nothing to compare beyond the pair itself (one member a
    /// side) or no model. The check holds back the merge when <see cref="MemberCheck.Disagrees"/>.
    /// </summary>
    public MemberCheck? Check(MatchModel? model, IReadOnlyList<Member> left, IReadOnlyList<Member> right)
    {
        if (model is null || left.Count == 0 || right.Count == 0 || left.Count * right.Count < 2) return null;
        var plan = model.Plan;
        var records = left.Select(m => m.Record).Concat(right.Select(m => m.Record)).ToList();
        var comparer = new PairComparer(EncodedRecords.Encode(plan, records));
        var worst = double.PositiveInfinity;
        int wl = 0, wr = 0;
        ulong wp = 0;
        for (var i = 0; i < left.Count; i++)
        {
            for (var j = 0; j < right.Count; j++)
            {
                var pattern = comparer.Compare(i, left.Count + j);
                var weight = Evidence(model, pattern);
                if (weight >= worst) continue;
                (worst, wl, wr, wp) = (weight, i, j, pattern);
            }
        }
        return new MemberCheck(left.Count * right.Count, Math.Round(worst, 4), Options.DisagreementWeight, left[wl].Origin, right[wr].Origin,
            Against(model, wp, left[wl].Record, right[wr].Record));
    }

    /// <summary>The comparisons' weights summed (level 0, missing, weighs 0): the evidence of the two records alone.</summary>
    private static double Evidence(MatchModel model, ulong pattern)
    {
        var weight = 0.0;
        for (var c = 0; c < model.Weights.Length; c++)
            weight += model.Weights[c][PairComparer.LevelOf(pattern, c)];
        return weight;
    }

    private static string Against(MatchModel model, ulong pattern, MatchRecord a, MatchRecord b)
    {
        var text = new StringBuilder();
        for (var c = 0; c < model.Weights.Length; c++)
        {
            var level = PairComparer.LevelOf(pattern, c);
            var weight = model.Weights[c][level];
            if (weight >= 0) continue;
            var comparison = model.Plan.Comparisons[c];
            if (text.Length > 0) text.Append(", ");
            text.Append(CultureInfo.InvariantCulture,
                $"{comparison.Name} '{a.Fields.GetValueOrDefault(comparison.Field)}' vs '{b.Fields.GetValueOrDefault(comparison.Field)}' {comparison.Levels[level].Label} {weight:0.0}");
        }
        return text.Length == 0 ? "no comparison against" : text.ToString();
    }
}

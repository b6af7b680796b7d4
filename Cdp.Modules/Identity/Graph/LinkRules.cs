using Cdp.Modules.Identity.Identifiers;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Identity.Graph;

/// <summary>One side of a proposed probabilistic merge: a live profile's identifiers, merge count and quarantine.</summary>
internal readonly record struct LinkSide(long Profile, IReadOnlyList<NodeIdentifier> Ids, int Merges, string? Quarantine, Func<string, bool> KeyQuarantined);

/// <summary>
/// The merge rules a probabilistic merge must pass, the same as for deterministic ones: never across two different
/// user_ids (or past any identifier type's limit), never through a quarantined profile or identifier, never past
/// MaxIdentifiersPerProfile / MaxMergesPerProfile. Used by the matcher to route (committed state) and by the graph
/// when the link is applied (staged state, authoritative).
/// </summary>
internal static class LinkRules
{
    public static string? Refusal(IdentifierCatalogue catalogue, LinkSide a, LinkSide b, DateTime at)
    {
        foreach (var side in new[] { a, b })
        {
            if (side.Quarantine is not null) return $"{ProfileIds.Format(side.Profile)} is quarantined ({side.Quarantine})";
            foreach (var id in side.Ids)
                if (side.KeyQuarantined(id.Key)) return $"identifier {id.Key} of {ProfileIds.Format(side.Profile)} is quarantined";
        }
        foreach (var type in catalogue.Types)
        {
            if (type.Limit <= 0) continue;
            var cutoff = type.WindowLength is { } w ? at - w : DateTime.MinValue;
            var prefix = type.Name + ":";
            var inA = a.Ids.Where(i => i.Last >= cutoff && i.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(i => i.Key).ToList();
            var inB = b.Ids.Where(i => i.Last >= cutoff && i.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(i => i.Key).ToList();
            var total = inA.Union(inB, StringComparer.Ordinal).Count();
            if (total <= type.Limit || total <= Math.Max(inA.Count, inB.Count)) continue;
            return type == catalogue.UserId
                ? $"different user_ids ({string.Join(", ", inA.Concat(inB).Select(k => k[prefix.Length..]))})"
                : $"would give one profile {total} {type.Name} identifiers (limit {type.Limit})";
        }
        var options = catalogue.Options;
        if (a.Ids.Count + b.Ids.Count > options.MaxIdentifiersPerProfile)
            return $"would give one profile more than {options.MaxIdentifiersPerProfile} identifiers (MaxIdentifiersPerProfile)";
        if (a.Merges + b.Merges + 1 > options.MaxMergesPerProfile)
            return $"would give one profile more than {options.MaxMergesPerProfile} merges (MaxMergesPerProfile)";
        // each merge absorbed one profile: a side with n merges was made from n + 1 source profiles
        if (a.Merges + b.Merges + 2 > options.MaxSourceProfilesPerMatch)
            return $"would make one profile from {a.Merges + b.Merges + 2} source profiles, more than {options.MaxSourceProfilesPerMatch} (MaxSourceProfilesPerMatch): check it by hand";
        return null;
    }
}

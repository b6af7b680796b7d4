namespace Cdp.Modules.Identity.Contracts;

/// <summary>Read side of the identity graph for the APIs (any thread; reads committed state).</summary>
public interface IIdentityDirectory
{
    /// <summary>The live profile owning "type:value" (value raw; it is normalised first), or null.</summary>
    long? FindProfile(string typeAndValue);

    /// <summary>The profile "type:value" first landed on (it may have been merged since), or null.</summary>
    long? FirstProfile(string typeAndValue);

    /// <summary>The live profile a (possibly merged-away) profile number now belongs to, or null when it never existed.</summary>
    long? LiveProfile(long profile);

    ProfileIdentity? Get(long profile);

    IReadOnlyList<MergeRecordView> MergeHistory(long profile);

    MergeRecordView? Merge(string mergeId);

    /// <summary>"Why are A and B one person?": the merge records on the path from A to B, or null when they are not one profile.</summary>
    IReadOnlyList<MergeRecordView>? Explain(long a, long b);

    IReadOnlyList<QuarantineEntry> Quarantine(int skip, int take);

    /// <summary>Why the merge rules would refuse to make one profile of live profiles <paramref name="a"/> and <paramref name="b"/> (committed state), or null.</summary>
    string? LinkRefusal(long a, long b);
}

public sealed record ProfileIdentity(long Profile, IReadOnlyList<IdentifierView> Identifiers, int Merges, string? Quarantine, IReadOnlyList<long> Absorbed);

public sealed record IdentifierView(string Type, string Value, DateTime FirstSeen, DateTime LastSeen, bool Quarantined);

/// <summary>A merge record. <see cref="Evidence"/> is set for probabilistic merges (rule "probabilistic"): score and weights.</summary>
public sealed record MergeRecordView(string Id, long Winner, long Loser, string Rule, string JoiningIdentifier, string MatchedIdentifier, long Sequence, string Source, string MessageId, DateTime At, bool Undone,
    MatchEvidence? Evidence = null);

public sealed record QuarantineEntry(string Id, string Kind, string Subject, long Profile, string Reason, long Sequence, DateTime At);

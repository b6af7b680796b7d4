using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Identity.Graph;

/// <summary>
/// The identity graph as it is stored: nodes (one per profile ever created), identifier keys, merge records, quarantine
/// entries, unmerge directives, carriers and probabilistic link decisions (IdentityDocuments.cs describes each). Reads
/// see committed data; writes go into the caller's unit of work (the processor's batch, a reset, an erasure), so they
/// commit or roll back with the rest of it. LiteDb/LiteIdentityStore and PostgreSql/PostgresIdentityStore keep it.
/// </summary>
internal interface IIdentityStore
{
    /// <summary>Every live node (not merged away), for the in-memory identifier map at start.</summary>
    IEnumerable<IdentityNode> LiveNodes();

    IdentityNode? Node(long profile);

    /// <summary>The profile a "type:value" key first landed on.</summary>
    KeyRecord? Key(string key);

    MergeRecord? Merge(string id);

    QuarantineRecord? QuarantineEntry(string id);

    /// <summary>Quarantine entries of one kind ("identifier" or "profile").</summary>
    IEnumerable<QuarantineRecord> Quarantined(string kind);

    /// <summary>Quarantine entries in the order they were made (by sequence), a page.</summary>
    IReadOnlyList<QuarantineRecord> QuarantinePage(int skip, int take);

    IEnumerable<UnmergeDirective> Unmerges();

    IEnumerable<(UInt128 Hash, List<long> Events)> Carriers();

    /// <summary>Link decisions, all of them or those with the given status (<see cref="LinkStatus"/>).</summary>
    IEnumerable<LinkRecord> Links(string? status = null);

    /// <summary>A batch's staged changes, in the caller's transaction.</summary>
    /// <summary>Every node, live and merged away (for storage copy).</summary>
    IEnumerable<IdentityNode> AllNodes();

    /// <summary>Every identifier's key record (for storage copy).</summary>
    IEnumerable<KeyRecord> AllKeys();

    /// <summary>Every merge record (for storage copy).</summary>
    IEnumerable<MergeRecord> AllMerges();

    /// <summary>Every quarantine entry (for storage copy).</summary>
    IEnumerable<QuarantineRecord> AllQuarantine();

    void Write(IUnitOfWork tx, IdentityChanges changes);

    /// <summary>
    /// A reprocess starts from nothing: nodes, keys, merges, quarantine and carriers go; unmerge directives stay; link
    /// decisions stay, those not undone pending again (the replay applies them where they were taken).
    /// </summary>
    void Reset(IUnitOfWork tx);

    /// <summary>An erased person's records: the nodes of <paramref name="profiles"/>, the <paramref name="keys"/>, their
    /// quarantine entries and carriers, and the merge records the live nodes among them list.</summary>
    IdentityErasure Erase(IUnitOfWork tx, IReadOnlyCollection<long> profiles, IReadOnlyCollection<string> keys);

    /// <summary>Removes the link decisions involving any of <paramref name="profiles"/>; returns how many.</summary>
    long EraseLinksInvolving(IUnitOfWork tx, IReadOnlySet<long> profiles);
}

/// <summary>What a batch changed, as <see cref="IIdentityStore.Write"/> stores it.</summary>
internal sealed class IdentityChanges
{
    /// <summary>An unmerge's replay: nodes may exist or not (written as upserts); otherwise new ones are inserted.</summary>
    public bool Replay { get; init; }
    public IReadOnlyCollection<long> DeletedNodes { get; init; } = [];
    public IReadOnlyList<IdentityNode> NewNodes { get; init; } = [];
    public IReadOnlyList<IdentityNode> ChangedNodes { get; init; } = [];
    public IReadOnlyCollection<string> DeletedKeys { get; init; } = [];
    public IReadOnlyList<KeyRecord> NewKeys { get; init; } = [];
    public IReadOnlyList<KeyRecord> ChangedKeys { get; init; } = [];
    public IReadOnlyCollection<string> DeletedMerges { get; init; } = [];

    /// <summary>Written in order: a later record with the same id wins.</summary>
    public IReadOnlyList<MergeRecord> Merges { get; init; } = [];
    public IReadOnlyCollection<string> DeletedQuarantine { get; init; } = [];
    public IReadOnlyList<QuarantineRecord> Quarantine { get; init; } = [];
    public UnmergeDirective? Unmerge { get; init; }

    /// <summary>Carrier lists to store; an empty list removes the entry.</summary>
    public IReadOnlyList<(UInt128 Hash, List<long> Events)> Carriers { get; init; } = [];
    public IReadOnlyList<LinkRecord> Links { get; init; } = [];

    /// <summary>A probabilistic link an unmerge undid: its status becomes undone, noted with the time.</summary>
    public string? UndoneLink { get; init; }
    public DateTime UndoneAt { get; init; }

    public string UndoneNote => FormattableString.Invariant($"unmerged {UndoneAt:O}");
}

/// <summary>What an erasure removed.</summary>
internal readonly record struct IdentityErasure(long Identifiers, long MergeRecords, long QuarantineEntries);

using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>
/// Profiles as they are stored: one record per profile ever created (merged-away ones keep only "into"), the sealed
/// chunks of each profile's timeline index, and account (group) profiles. Reads see committed data, or the given
/// transaction's own writes; writes go into the caller's unit of work (the processor's batch, a reset, an erasure).
/// LiteDb/LiteProfileStore and PostgreSql/PostgresProfileStore keep it.
/// </summary>
internal interface IProfileStore
{
    /// <summary>A profile's record (merged-away ones with <see cref="ProfileState.Into"/> set), or null.</summary>
    ProfileState? Profile(long profile, IUnitOfWork? tx = null);

    /// <summary>Live profiles numbered after <paramref name="after"/>, ascending.</summary>
    IReadOnlyList<ProfileState> LiveAfter(long after, int take);

    /// <summary>The stored profiles among <paramref name="profiles"/> (merged-away ones included), in no given order.</summary>
    IReadOnlyList<ProfileState> Many(IReadOnlyCollection<long> profiles);

    /// <summary>Live profiles whose trait at a dotted path equals <paramref name="value"/> (as text or as is): a scan.</summary>
    IEnumerable<ProfileState> LiveWithTrait(string path, string value);

    /// <summary>Profiles whose groups hold <paramref name="groupId"/>: a scan.</summary>
    IEnumerable<long> AccountMembers(string groupId);

    /// <summary>A sealed chunk of a profile's timeline index, or null.</summary>
    TimelinePart? Chunk(long profile, int chunk, IUnitOfWork? tx = null);

    AccountState? Account(string groupId, ProfileLimits limits);

    /// <summary>Every profile, live and merged away, in profile order (for storage copy).</summary>
    IEnumerable<ProfileState> All();

    /// <summary>Every sealed timeline chunk by its id (for storage copy).</summary>
    IEnumerable<(long Id, TimelinePart Part)> AllChunks();

    /// <summary>Every account by its group id (for storage copy).</summary>
    IEnumerable<(string GroupId, AccountState Account)> AllAccounts(ProfileLimits limits);

    void Write(IUnitOfWork tx, ProfileChanges changes);

    /// <summary>A reprocess: every profile, timeline chunk and account goes.</summary>
    void Reset(IUnitOfWork tx);

    /// <summary>An erased person's profile records and timeline chunks; returns how many were live and merged away.</summary>
    (long Live, long MergedAway) Erase(IUnitOfWork tx, IReadOnlyCollection<long> profiles);
}

/// <summary>A sealed chunk of a timeline index: varint sequences and their event times (EventTimes), as the processor cut them.</summary>
internal sealed record TimelinePart(byte[] Sequences, byte[]? Times);

/// <summary>What a batch changed, as <see cref="IProfileStore.Write"/> stores it, in this order.</summary>
internal sealed class ProfileChanges
{
    /// <summary>Profile records to delete (a rebuild replaces them, or an unmerge left them out).</summary>
    public IReadOnlyCollection<long> DeletedProfiles { get; init; } = [];

    /// <summary>Profiles whose every timeline chunk goes.</summary>
    public IReadOnlyCollection<long> ClearedTimelines { get; init; } = [];

    /// <summary>Chunk id (profile &lt;&lt; 16 | chunk) -> its parts; null deletes it.</summary>
    public IReadOnlyList<(long Id, TimelinePart? Part)> Chunks { get; init; } = [];

    public IReadOnlyList<ProfileState> NewProfiles { get; init; } = [];

    public IReadOnlyList<ProfileState> ChangedProfiles { get; init; } = [];

    /// <summary>A rebuild: changed profiles may not exist yet (written as upserts).</summary>
    public bool Rebuild { get; init; }

    public IReadOnlyList<(string GroupId, AccountState Account)> Accounts { get; init; } = [];
}

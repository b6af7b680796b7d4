using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Segments.Membership;

/// <summary>
/// What segments keep: the definitions, each profile's segment state (event counters and memberships), the members of each
/// segment, the membership history, and small state (member counts and evaluation times, counter retention, the next
/// segment number). Reads here see committed data; writes go through <see cref="Lock"/>. LiteDb/LiteSegmentStore and
/// PostgreSql/PostgresSegmentStore keep it.
/// </summary>
internal interface ISegmentStore
{
    /// <summary>
    /// Takes the segment lock in the caller's transaction and returns its view for reads and writes. Invariant: every
    /// transaction that writes segment state calls this FIRST, so the processor's batches, sweeps, builds, edits and
    /// erasures never interleave on segment state, and what it reads after the lock is the latest commit.
    /// </summary>
    ISegmentWrites Lock(IUnitOfWork tx, DateTime now);

    /// <summary>Once at start: whatever the store needs for its queries (LiteDB: the history's indexes).</summary>
    void Prepare();

    SegmentLive Live();

    /// <summary>Counter id -> the retention (days) its stored counts cover.</summary>
    IReadOnlyDictionary<string, int> KeptCounters();

    ProfileSegmentState? State(long profile);

    /// <summary>The states of the profiles numbered first..last that have one.</summary>
    Dictionary<long, ProfileSegmentState> States(long first, long last);

    /// <summary>Up to <paramref name="limit"/> member ids of a segment after <paramref name="after"/> (ordinal order; "" = from the start).</summary>
    List<string> MemberPage(int segmentNo, string after, int limit);

    /// <summary>Since when the profile is a member, or null.</summary>
    DateTime? MemberSince(int segmentNo, string profileId);

    /// <summary>Newest first, one segment's or one profile's, before the entry id <paramref name="before"/> (null: from the newest).</summary>
    List<MembershipEntry> History(int? segmentNo, long? profile, long? before, int take);

    /// <summary>Every entry of these profiles, oldest first.</summary>
    List<MembershipEntry> HistoryOf(IReadOnlyCollection<long> profiles);

    /// <summary>Every member of a segment with the time it entered (for storage copy).</summary>
    IEnumerable<(string Profile, DateTime At)> Members(int segmentNo);

    /// <summary>Every definition, read without the segment lock (for storage copy).</summary>
    List<SegmentDefinition> Definitions();

    /// <summary>The next segment number as stored (null when none was ever given out), without taking it (for storage copy).</summary>
    int? StoredNextNumber();
}

/// <summary>Segment state inside one locked transaction (see <see cref="ISegmentStore.Lock"/>).</summary>
internal interface ISegmentWrites
{
    List<SegmentDefinition> Definitions();

    /// <summary>By key, any case (keys are case-insensitive).</summary>
    SegmentDefinition? Definition(string key);

    /// <summary>Stores a definition under its key; one stored under the same key in another case is replaced.</summary>
    void PutDefinition(SegmentDefinition definition);

    void DeleteDefinition(string key);

    /// <summary>Segment numbers are never reused: a deleted segment's leftovers can never count for a new one.</summary>
    int NextNumber();

    SegmentLive Live();

    void SaveLive(SegmentLive live);

    void SaveKeptCounters(IReadOnlyDictionary<string, int> kept);

    IReadOnlyDictionary<string, int> KeptCounters();

    /// <summary>Every profile number that has a state (StoredSegmentStates' bits).</summary>
    IEnumerable<long> StateIds();

    ProfileSegmentState? State(long profile);

    Dictionary<long, ProfileSegmentState> States(long first, long last);

    void SaveState(ProfileSegmentState state);

    void DeleteState(long profile);

    void AddMember(int segmentNo, string profileId, DateTime at);

    bool RemoveMember(int segmentNo, string profileId);

    void ClearMembers(int segmentNo);

    void AppendHistory(MembershipEntry entry);

    /// <summary>History entries stored under their own ids, which later appends continue after (for storage copy).</summary>
    void ImportHistory(IReadOnlyList<MembershipEntry> entries);

    /// <summary>Stores the next segment number (for storage copy).</summary>
    void SetNextNumber(int next);

    long DeleteHistoryOf(IReadOnlyCollection<long> profiles);

    /// <summary>A reprocess: every profile state, the history, the live counts and these segments' members go.</summary>
    void Reset(IEnumerable<int> segmentNos);
}

/// <summary>A stored definition.</summary>
internal sealed record SegmentDefinition(string Key, int No, SegmentOrigin Origin, string Name, string? Description, string Where,
    DateTime Created, DateTime Updated, bool Built);

/// <summary>One entry or exit (<see cref="Id"/> is given by the store, ascending).</summary>
internal sealed record MembershipEntry(long Id, int Segment, string Key, long Profile, bool Entered, DateTime At, string Cause);

/// <summary>Member counts per segment number and when segments were last evaluated in real time, swept and built.</summary>
internal sealed class SegmentLive
{
    public const string RealTime = "at", Sweep = "sweep", Built = "built";

    public Dictionary<int, long> Counts { get; init; } = new();

    public Dictionary<string, DateTime> Times { get; init; } = new(StringComparer.Ordinal);

    public long Count(int segmentNo) => Counts.GetValueOrDefault(segmentNo);

    public DateTime? Time(string field) => Times.TryGetValue(field, out var at) ? at : null;
}

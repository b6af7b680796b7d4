using System.IO.Hashing;
using System.Text;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Identity.Graph;

/// <summary>
/// The identity graph's keys and numbers. Keys are "type:value"; profiles are numbers (the creating event's sequence).
/// The records below are stored by IIdentityStore: nodes (one per profile ever created; merged-away ones keep only
/// "into"), keys (identifier -> the profile it first landed on, follow "into"; merge count through it), merge records,
/// quarantine entries, unmerge directives and probabilistic link decisions (admin and matching decisions: inputs like
/// the log, kept by a reprocess), carriers (key hash -> events that carried the identifier while nobody could take it,
/// see IdentityGraph.Carriers).
/// </summary>
internal static class IdentitySchema
{
    /// <summary>Day granularity of an identifier's last-seen time: limits have windows of a week or more.</summary>
    public static int Day(DateTime at) => (int)((at.Ticks - Epoch.Ticks) / TimeSpan.TicksPerDay);

    private static readonly DateTime Epoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>128-bit hash of a key: the in-memory map stores this instead of the string (a collision is ~1e-26 likely at 10M keys).</summary>
    public static UInt128 Hash(string key)
    {
        Span<byte> buffer = stackalloc byte[512];
        var n = Encoding.UTF8.GetByteCount(key);
        var bytes = n <= buffer.Length ? buffer[..n] : new byte[n];
        Encoding.UTF8.GetBytes(key, bytes);
        return XxHash128.HashToUInt128(bytes);
    }

    /// <summary>Map value: profile number (43 bits) and the identifier's last-seen day (20 bits).</summary>
    public static ulong Pack(long profile, int day) => ((ulong)profile << 20) | (uint)Math.Clamp(day, 0, (1 << 20) - 1);

    public static long ProfileOf(ulong packed) => (long)(packed >> 20);

    public static int DayOf(ulong packed) => (int)(packed & ((1 << 20) - 1));

    public static string TypeOf(string key) => key[..key.IndexOf(':')];
}

internal sealed class NodeIdentifier(string key, DateTime first, DateTime last)
{
    public string Key { get; } = key;
    public DateTime First { get; set; } = first;
    public DateTime Last { get; set; } = last;
}

/// <summary>The identity side of one profile: its identifiers and how it came to be.</summary>
internal sealed class IdentityNode(long profile)
{
    public long Profile { get; } = profile;
    public long Into { get; set; }
    public List<NodeIdentifier> Ids { get; set; } = [];
    public int Merges { get; set; }
    public string? Quarantine { get; set; }
    public List<long> Absorbed { get; set; } = [];

    /// <summary>
    /// Events that carried one of this profile's identifiers but went elsewhere (a limit refusal, quarantine, an
    /// unmerge): an unmerge must replay them too, so that what they were refused may be re-evaluated. Ascending.
    /// </summary>
    public List<long> Touches { get; set; } = [];
    public List<string> MergeIds { get; set; } = [];
    public bool IsNew { get; set; }
}

/// <summary>An identifier's own record: the profile it first landed on and how many merges went through it.</summary>
internal sealed class KeyRecord(string key, long profile)
{
    public string Key { get; } = key;
    public long Profile { get; set; } = profile;
    public int Joins { get; set; }
    public bool IsNew { get; set; }
}

/// <summary>
/// One merge: the event <see cref="Sequence"/> carried <see cref="MatchedIdentifier"/> (owned by the winner) and
/// <see cref="JoiningIdentifier"/> (owned by the loser), so the loser was folded into the winner.
/// </summary>
internal sealed record MergeRecord(string Id, long Winner, long Loser, string Rule, string JoiningIdentifier, string MatchedIdentifier,
    long Sequence, string Source, string MessageId, DateTime At, MatchEvidence? Evidence = null);

/// <summary>Where a probabilistic link stands: applied (merged), pending (a reprocess will apply it), void (a replay found nothing to merge), undone (unmerged).</summary>
internal static class LinkStatus
{
    public const string Applied = "applied";
    public const string Pending = "pending";
    public const string Void = "void";
    public const string Undone = "undone";
}

/// <summary>
/// A probabilistic merge decision: profiles <see cref="Left"/> and <see cref="Right"/> became one after event <see cref="Sequence"/>
/// (links with the same sequence in <see cref="Order"/>). Kept by a reprocess, which applies it again at the same point.
/// </summary>
internal sealed record LinkRecord(string Id, long Left, long Right, long Sequence, long Order, DateTime At, string Status, MatchEvidence Evidence, string? Note = null);

internal sealed record QuarantineRecord(string Id, string Kind, string Subject, long Profile, string Reason, long Sequence, DateTime At);

/// <summary>
/// An admin's unmerge: at event <see cref="Sequence"/>, identifiers owned by profile <see cref="Loser"/> do not join.
/// Stored under (sequence, loser), not under the merge id: merge ids are "m{sequence}-{index}", so after an unmerge the
/// same event's next merge can take the freed id (another loser), and unmerging that one too must not overwrite the
/// first decision (the replay applied both; a reprocess must too). Older documents keyed by merge id read the same.
/// </summary>
internal sealed record UnmergeDirective(string MergeId, long Sequence, long Loser, DateTime At)
{
    public string Key => FormattableString.Invariant($"{Sequence}:{Loser}");
}

namespace Cdp.Modules.Segments.Contracts;

/// <summary>
/// Who is in a segment now: what Activation syncs read. Members are profile ids ("p_123"), enumerated in
/// ordinal order so a sync can diff them against its own member state in one pass.
/// </summary>
public interface ISegmentMembership
{
    /// <summary>True when a segment with this key is defined (config or API).</summary>
    bool Exists(string segmentKey);

    /// <summary>The current members, ordinal by profile id, materialised in pages so no LiteDB cursor stays open across awaits.</summary>
    IEnumerable<string> Members(string segmentKey);

    long Count(string segmentKey);

    /// <summary>When the segment's membership was last evaluated (real time or sweep); null if never.</summary>
    DateTime? LastEvaluated(string segmentKey);
}

using System.Text.Json.Nodes;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Shared.Privacy;

/// <summary>
/// One person, as every module knows them: the live profile, the profile numbers merged into it, its identifiers
/// (normalised "type:value", as Identity stores them) and the sequences of its events in the log.
/// Built by Governance's privacy orchestration from the Identity and Profiles contracts.
/// </summary>
public sealed record PersonalDataSubject(
    long Profile, string ProfileId, IReadOnlyList<long> ProfileNumbers, IReadOnlyList<string> Identifiers, IReadOnlyList<long> EventSequences)
{
    /// <summary>Profile ids ("p_123") of the live profile and every profile merged into it.</summary>
    public IEnumerable<string> ProfileIds => ProfileNumbers.Select(n => "p_" + n.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The deletion receipt this erasure writes (set by the orchestration): what follow-up work (vendor calls) is keyed by.</summary>
    public string? ReceiptId { get; init; }
}

/// <summary>
/// A module that holds personal data implements this over its own data; Governance's privacy orchestration calls every
/// holder for a deletion (erasure) or a subject access request (export). New holders (e.g. a review queue) only
/// implement it and register it with [Service]: the orchestration picks them up.
/// </summary>
public interface IPersonalDataHolder
{
    /// <summary>The section name in the export (e.g. "segments") and the prefix nothing else uses.</summary>
    string Section { get; }

    /// <summary>
    /// Erases the subject's data INSIDE the caller's transaction, on the profile processor's thread (processing is
    /// paused: no batch runs meanwhile). No await, no other thread. Returns what was erased, by kind (e.g. "memberships": 2);
    /// counts only, never the data itself.
    /// </summary>
    IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx);

    /// <summary>After the erasure committed (same thread): drop in-memory copies (caches, maps).</summary>
    void Erased(PersonalDataSubject subject) { }

    /// <summary>Everything this module holds about the subject, as one JSON value (any thread; committed state).</summary>
    JsonNode? Export(PersonalDataSubject subject);

    /// <summary>
    /// Work of a deletion that goes on after its transaction (e.g. the deletion calls at the vendors), as the receipt shows it:
    /// null when this holder has none for the receipt. Any thread; holds no personal data.
    /// </summary>
    JsonNode? FollowUp(string receiptId) => null;
}

/// <summary>
/// Identifiers that must not come back (hashed; see Governance/Privacy). Read on the ingest hot path and by identity
/// resolution: <see cref="IsEmpty"/> first, so that an empty list costs nothing.
/// </summary>
public interface ISuppressionList
{
    bool IsEmpty { get; }

    /// <summary>True when a normalised identifier ("email:jane@example.com") is suppressed.</summary>
    bool Contains(string identifierKey);

    /// <summary>True when an event (the normalised Segment payload, UTF-8 JSON) carries a suppressed identifier anywhere, in any spelling.</summary>
    bool Refuses(ReadOnlySpan<byte> eventJson);

    /// <summary>True when free text (a refused event's raw text, JSON or not) holds a suppressed identifier in any spelling.</summary>
    bool RefusesText(string text);
}

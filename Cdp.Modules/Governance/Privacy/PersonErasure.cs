using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Logging;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Modules.Governance.Privacy;

/// <summary>
/// Deletes a person: every <see cref="IPersonalDataHolder"/> erases its part in ONE transaction, run on the profile
/// processor's thread between two batches (so no batch interleaves with it and no cached state outlives it), together with
/// the suppression of the person's identifiers and the receipt.
/// The subject's events are those attributed to them and every other event of the log carrying one of their identifiers
/// anywhere in any spelling (<see cref="PersonalDataSubjects.Build"/>, read before the transaction: the processor is paused).
/// Order, inside the processor command: (1) the identifiers are suppressed in memory, so ingest refuses them from then on and
/// identity resolution ignores them; (2) the log's unprocessed tail is scanned for events carrying them (they are erased
/// too, or the processor would attribute them to nobody but keep their data); (3) the transaction; (4) in-memory state of
/// the holders is dropped. A failed transaction takes the in-memory suppressions back.
/// Known gap: an event acknowledged in the few milliseconds between the tail scan and (1) of a concurrent request stays in
/// the log unattributed with its data (identity ignores its identifiers, so the person still does not come back).
/// </summary>
[Service]
internal sealed class PersonErasure(
    PersonalDataSubjects subjects,
    IEnumerable<IPersonalDataHolder> holders,
    SuppressionList suppressions,
    DeletionReceipts receipts,
    IProfileProcessor processor,
    IEventLog log,
    IUnitOfWorkFactory db,
    TimeProvider clock,
    ILogger<PersonErasure> logger)
{
    /// <summary>Events read per step when scanning the unprocessed tail of the log.</summary>
    private const int TailPage = 5_000;

    private readonly IPersonalDataHolder[] _holders = holders.ToArray();

    /// <summary>Deletes the live profile <paramref name="profile"/>; null when it is not (any more) a live profile.</summary>
    public Task<DeletionReceipt?> DeleteAsync(long profile, string requestedBy, CancellationToken cancellationToken)
    {
        var requestedAt = clock.GetUtcNow().UtcDateTime;
        return processor.RunExclusiveAsync(() => Delete(profile, requestedBy, requestedAt), cancellationToken);
    }

    /// <summary>On the processor thread.</summary>
    private DeletionReceipt? Delete(long profile, string requestedBy, DateTime requestedAt)
    {
        var subject = subjects.Build(profile);
        if (subject is null) return null;
        var receiptId = DeletionReceipts.NewId();
        IReadOnlyList<(string Hash, string Type)> added = [];
        DeletionReceipt receipt;
        try
        {
            receipt = db.InTransaction(tx =>
            {
                added = suppressions.Add(tx, subjects.Spellings(subject.Identifiers), receiptId, requestedAt);
                var full = subject with { EventSequences = subject.EventSequences.Concat(UnprocessedEventsCarryingSuppressed()).Distinct().Order().ToList(), ReceiptId = receiptId };
                subject = full;
                var erased = new SortedDictionary<string, long>(StringComparer.Ordinal);
                foreach (var holder in _holders)
                    foreach (var (kind, n) in holder.Erase(full, tx))
                        erased[kind] = erased.GetValueOrDefault(kind) + n;
                var r = new DeletionReceipt(receiptId, full.ProfileId, requestedBy, requestedAt, clock.GetUtcNow().UtcDateTime, erased, full.Identifiers.Count);
                receipts.Write(tx, r);
                return r;
            });
        }
        catch
        {
            suppressions.Forget(added);
            throw;
        }
        foreach (var holder in _holders) holder.Erased(subject);
        logger.LogWarning("Privacy deletion {Receipt} of {Profile} by {By}: {Erased}", receiptId, subject.ProfileId, requestedBy,
            string.Join(", ", receipt.Erased.Select(e => $"{e.Key} {e.Value}")));
        return receipt;
    }

    /// <summary>Events after the processor's checkpoint (not yet attributed) that carry a suppressed identifier.</summary>
    private List<long> UnprocessedEventsCarryingSuppressed()
    {
        var found = new List<long>();
        var after = processor.Status.Checkpoint;
        while (true)
        {
            var page = log.ReadAfter(after, TailPage);
            if (page.Count == 0) return found;
            foreach (var e in page) if (suppressions.Refuses(e.Json.Span)) found.Add(e.Sequence);
            after = page[^1].Sequence;
        }
    }
}

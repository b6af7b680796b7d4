using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Pipeline.Processing.LiteDb;

/// <summary>
/// cdp.db's processor_state ({_id: "checkpoint", seq}) and processor_failures (_id = the event's sequence) collections.
/// </summary>
internal sealed class LiteProcessorStore(CdpDatabase db) : IProcessorStore
{
    public const string StateCollection = "processor_state";
    public const string FailuresCollection = "processor_failures";
    private const string CheckpointId = "checkpoint";

    public long Checkpoint() => db.Collection(StateCollection).ById(CheckpointId)?["seq"].AsInt64 ?? 0;

    private const string PausedId = "paused";

    public bool Paused() => db.Collection(StateCollection).ById(PausedId)?["seq"].AsInt64 == 1;

    public void SetPaused(bool paused) => db.InTransaction(d =>
        d.GetCollection(StateCollection).Upsert(new BsonDocument { ["_id"] = PausedId, ["seq"] = paused ? 1L : 0L }));

    public void WriteCheckpoint(IUnitOfWork tx, long from, long through)
    {
        var state = tx.Lite().GetCollection(StateCollection);
        var stored = state.FindById(CheckpointId)?["seq"].AsInt64 ?? 0;
        if (stored != from) throw new CheckpointMovedException(from, stored);
        state.Upsert(new BsonDocument { ["_id"] = CheckpointId, ["seq"] = through });
    }

    public IReadOnlyList<(long Sequence, bool Discarded)> FailureIndex() =>
        db.Collection(FailuresCollection).Query().Select("{ _id: $._id, d: $.discarded }").ToList()
            .Select(d => (d["_id"].AsInt64, d["d"].AsBoolean)).ToList();

    public void RecordFailure(IUnitOfWork tx, LoggedEvent e, string type, string? name, FailureCause cause, DateTime at)
    {
        var failures = tx.Lite().GetCollection(FailuresCollection);
        var doc = failures.ById(e.Sequence) ?? new BsonDocument
        {
            ["_id"] = e.Sequence, ["source"] = e.Source, ["messageId"] = e.MessageId, ["type"] = type, ["event"] = name,
            ["receivedAt"] = e.ReceivedAt, ["firstFailedAt"] = at, ["attempts"] = 0, ["discarded"] = false,
        };
        doc["exception"] = cause.Exception;
        doc["message"] = cause.Message;
        doc["stack"] = cause.Stack;
        doc["lastFailedAt"] = at;
        doc["attempts"] = doc["attempts"].AsInt32 + 1;
        failures.Upsert(doc);
    }

    public void RemoveFailure(IUnitOfWork tx, long sequence) => tx.Lite().GetCollection(FailuresCollection).Delete(sequence);

    public bool DiscardFailure(IUnitOfWork tx, long sequence, string by, DateTime at)
    {
        var failures = tx.Lite().GetCollection(FailuresCollection);
        var doc = failures.ById(sequence);
        if (doc is null || doc["discarded"].AsBoolean) return false;
        doc["discarded"] = true;
        doc["discardedAt"] = at;
        doc["discardedBy"] = by;
        failures.Update(doc);
        return true;
    }

    public IReadOnlyList<ProcessorFailureView> Failures(long after, int limit, bool discarded)
    {
        var result = new List<ProcessorFailureView>(limit);
        var failures = db.Collection(FailuresCollection);
        var from = after;
        // pages over _id (the one index): listed and discarded entries interleave
        while (result.Count < limit)
        {
            var page = failures.Find(Filter.GT("_id", from), limit: Math.Max(limit, 100)).ToList();
            if (page.Count == 0) break;
            foreach (var d in page)
                if (d["discarded"].AsBoolean == discarded && result.Count < limit) result.Add(View(d));
            from = page[^1]["_id"].AsInt64;
        }
        return result;
    }

    public ProcessorFailureView? Failure(long sequence) => db.Collection(FailuresCollection).ById(sequence) is { } d ? View(d) : null;

    public IEnumerable<ProcessorFailureView> AllFailures() => db.Collection(FailuresCollection).FindAll().Select(View);

    public long DeleteFailures(IUnitOfWork tx, IReadOnlyCollection<long> sequences)
    {
        var col = tx.Lite().GetCollection(FailuresCollection);
        return sequences.Count(s => col.Delete(s));
    }

    public void ImportFailure(IUnitOfWork tx, ProcessorFailureView f) => tx.Lite().GetCollection(FailuresCollection).Upsert(new BsonDocument
    {
        ["_id"] = f.Sequence, ["source"] = f.Source, ["messageId"] = f.MessageId, ["type"] = f.Type, ["event"] = f.Event, ["receivedAt"] = f.ReceivedAt,
        ["exception"] = f.Exception, ["message"] = f.Message, ["stack"] = f.Stack, ["firstFailedAt"] = f.FirstFailedAt, ["lastFailedAt"] = f.LastFailedAt,
        ["attempts"] = f.Attempts, ["discarded"] = f.Discarded, ["discardedAt"] = f.DiscardedAt, ["discardedBy"] = f.DiscardedBy,
    });

    private static ProcessorFailureView View(BsonDocument d) => new(
        d["_id"].AsInt64, d["source"].AsString, d["messageId"].AsString, d["type"].AsString, d["event"].IsNull ? null : d["event"].AsString,
        d["receivedAt"].AsDateTime.ToUniversalTime(), d["exception"].AsString, d["message"].AsString, d["stack"].AsString,
        d["firstFailedAt"].AsDateTime.ToUniversalTime(), d["lastFailedAt"].AsDateTime.ToUniversalTime(), d["attempts"].AsInt32,
        d["discarded"].AsBoolean, d["discardedAt"].IsNull ? null : d["discardedAt"].AsDateTime.ToUniversalTime(),
        d["discardedBy"].IsNull ? null : d["discardedBy"].AsString);
}

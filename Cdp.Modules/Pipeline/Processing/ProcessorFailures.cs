using System.Diagnostics;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Pipeline.Processing;

/// <summary>
/// Events the processor set aside because they fail alone (collection <see cref="Collection"/>, _id = the event's
/// sequence), so that one bad event never stops processing for everyone. A listed failure waits for an admin:
/// retry (after a fix: applied now, then removed) or discard (it stays skipped for good, kept as a discarded entry so
/// that a reprocess skips it too). A reprocess tries the listed ones again at their place in the log.
/// Written by the processor thread only, inside its transactions; the in-memory index (which sequences are set aside)
/// follows the committed documents: <see cref="Committed"/> is called after each commit that changed them.
/// </summary>
[Service]
internal sealed class ProcessorFailures(CdpDatabase db)
{
    public const string Collection = "processor_failures";

    /// <summary>Characters of the stack trace kept per failure: the top frames say where it failed.</summary>
    private const int MaxStackChars = 2_000;

    /// <summary>Characters of the exception message kept (a message may quote a value from the event).</summary>
    private const int MaxMessageChars = 1_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<long, bool> _discarded = new(); // every set-aside sequence -> discarded?
    private long _highest;
    private int _listed;
    private long _setAsideTotal;

    /// <summary>Failures waiting for an admin (not discarded).</summary>
    public int Listed
    {
        get { lock (_lock) return _listed; }
    }

    /// <summary>Events set aside since start (each failure of a new event, and each failed reprocess attempt).</summary>
    public long SetAsideSinceStart => Interlocked.Read(ref _setAsideTotal);

    /// <summary>Loads the index of set-aside sequences (start-up).</summary>
    public void Load()
    {
        var all = db.Collection(Collection).Query().Select("{ _id: $._id, d: $.discarded }").ToList();
        lock (_lock)
        {
            _discarded.Clear();
            foreach (var d in all) _discarded[d["_id"].AsInt64] = d["d"].AsBoolean;
            Recount();
        }
    }

    /// <summary>True when a batch starting at <paramref name="first"/> may hold a set-aside event (a reprocess passes them again).</summary>
    public bool AnyFrom(long first)
    {
        lock (_lock) return _discarded.Count > 0 && _highest >= first;
    }

    /// <summary>Null when <paramref name="sequence"/> is not set aside; otherwise whether it was discarded.</summary>
    public bool? State(long sequence)
    {
        lock (_lock) return _discarded.TryGetValue(sequence, out var d) ? d : null;
    }

    /// <summary>Inside the processor's transaction: records (or counts again) the failure of <paramref name="e"/>.</summary>
    public void Record(LiteDatabase d, LoggedEvent e, string type, string? name, Exception ex, DateTime at)
    {
        var failures = d.GetCollection(Collection);
        var doc = failures.ById(e.Sequence);
        var stack = ex.StackTrace ?? new StackTrace(ex, false).ToString();
        if (doc is null)
        {
            doc = new BsonDocument
            {
                ["_id"] = e.Sequence, ["source"] = e.Source, ["messageId"] = e.MessageId, ["type"] = type, ["event"] = name,
                ["receivedAt"] = e.ReceivedAt, ["firstFailedAt"] = at, ["attempts"] = 0, ["discarded"] = false,
            };
        }
        doc["exception"] = ex.GetType().FullName;
        doc["message"] = Truncate(ex.Message, MaxMessageChars);
        doc["stack"] = Truncate(stack, MaxStackChars);
        doc["lastFailedAt"] = at;
        doc["attempts"] = doc["attempts"].AsInt32 + 1;
        failures.Upsert(doc);
    }

    /// <summary>Inside a transaction: the event's failure is gone (a retry or a reprocess applied it).</summary>
    public static void Remove(LiteDatabase d, long sequence) => d.GetCollection(Collection).Delete(sequence);

    /// <summary>Inside a transaction: marks a listed failure discarded (it stays skipped); false when it is not listed.</summary>
    public static bool Discard(LiteDatabase d, long sequence, string by, DateTime at)
    {
        var failures = d.GetCollection(Collection);
        var doc = failures.ById(sequence);
        if (doc is null || doc["discarded"].AsBoolean) return false;
        doc["discarded"] = true;
        doc["discardedAt"] = at;
        doc["discardedBy"] = by;
        failures.Update(doc);
        return true;
    }

    /// <summary>After the commit: <paramref name="sequence"/> is set aside (listed, or discarded), or no longer (null).</summary>
    public void Committed(long sequence, bool? discarded, bool newlySetAside = false)
    {
        lock (_lock)
        {
            var had = _discarded.TryGetValue(sequence, out var was);
            if (had && !was) _listed--;
            if (discarded is { } d)
            {
                _discarded[sequence] = d;
                if (!d) _listed++;
                _highest = Math.Max(_highest, sequence);
            }
            else if (_discarded.Remove(sequence) && sequence == _highest) _highest = _discarded.Count == 0 ? 0 : _discarded.Keys.Max();
        }
        if (newlySetAside) Interlocked.Increment(ref _setAsideTotal);
    }

    private void Recount()
    {
        _highest = _discarded.Count == 0 ? 0 : _discarded.Keys.Max();
        _listed = _discarded.Count(p => !p.Value);
    }

    /// <summary>Listed failures after <paramref name="after"/>, ascending by sequence (committed state, any thread).</summary>
    public IReadOnlyList<ProcessorFailureView> List(long after, int limit, bool discarded = false)
    {
        var result = new List<ProcessorFailureView>(limit);
        var failures = db.Collection(Collection);
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

    public ProcessorFailureView? Get(long sequence) => db.Collection(Collection).ById(sequence) is { } d ? View(d) : null;

    public static ProcessorFailureView View(BsonDocument d) => new(
        d["_id"].AsInt64, d["source"].AsString, d["messageId"].AsString, d["type"].AsString, d["event"].IsNull ? null : d["event"].AsString,
        d["receivedAt"].AsDateTime.ToUniversalTime(), d["exception"].AsString, d["message"].AsString, d["stack"].AsString,
        d["firstFailedAt"].AsDateTime.ToUniversalTime(), d["lastFailedAt"].AsDateTime.ToUniversalTime(), d["attempts"].AsInt32,
        d["discarded"].AsBoolean, d["discardedAt"].IsNull ? null : d["discardedAt"].AsDateTime.ToUniversalTime(),
        d["discardedBy"].IsNull ? null : d["discardedBy"].AsString);

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "…";
}

/// <summary>One event the processor set aside: where it came from, what failed, since when and how often.</summary>
internal sealed record ProcessorFailureView(
    long Sequence, string Source, string MessageId, string Type, string? Event, DateTime ReceivedAt,
    string Exception, string Message, string Stack, DateTime FirstFailedAt, DateTime LastFailedAt, int Attempts,
    bool Discarded, DateTime? DiscardedAt, string? DiscardedBy);

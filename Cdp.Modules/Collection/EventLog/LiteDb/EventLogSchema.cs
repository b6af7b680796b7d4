namespace Cdp.Modules.Collection.EventLog.LiteDb;

/// <summary>
/// How the log sits in LiteDB. The log collection holds no secondary index: one index costs ~4x on the
/// append path (measured: ~77k docs/s without, ~20k with). Events are stored in chunks, one document per
/// group commit (split at <see cref="MaxEventsPerChunk"/> events or <see cref="MaxChunkBytes"/>), whose _id is the sequence of the chunk's first
/// event, so a 500-event batch costs one document insert instead of 500.
/// </summary>
internal static class EventLogSchema
{
    public const string Collection = "event_log";
    public const string DeadLetters = "dead_letters";

    /// <summary>Events per chunk: a 500-event batch is one document.</summary>
    public const int MaxEventsPerChunk = 1024;

    /// <summary>JSON bytes per chunk: keeps a chunk far below LiteDB's 16 MB document limit (events are up to 32 KB).</summary>
    public const int MaxChunkBytes = 4 * 1024 * 1024;

    // chunk fields
    public const string At = "at";       // commit time (UTC), for the dedup window
    public const string Events = "ev";   // array of { s: source, m: messageId, j: json bytes }
    public const string Source = "s";
    public const string MessageId = "m";
    public const string Json = "j";

    /// <summary>
    /// The _id of the chunk that would hold <paramref name="sequence"/>: the last chunk starting at or before it (null when
    /// none). Reads the _id only, not the chunk's events.
    /// </summary>
    public static long? ChunkStartAtOrBefore(LiteDB.ILiteCollection<LiteDB.BsonDocument> log, long sequence) =>
        log.Query().Where(Cdp.Modules.Shared.Storage.Filter.LTE("_id", sequence)).OrderByDescending("_id")
            .Select((LiteDB.BsonExpression)"{_id}").Limit(1).FirstOrDefault()?["_id"].AsInt64;

    /// <summary>A dead letter's document ({src, at, index, errors: [{field, message}], raw}); the collection numbers it unless _id is set.</summary>
    public static LiteDB.BsonDocument DeadLetterDocument(string source, DateTime at, int index, IEnumerable<(string Field, string Message)> errors, string raw) => new()
    {
        ["src"] = source,
        ["at"] = at,
        ["index"] = index,
        ["errors"] = new LiteDB.BsonArray(errors.Select(e => new LiteDB.BsonDocument { ["field"] = e.Field, ["message"] = e.Message })),
        ["raw"] = raw,
    };

    public static LiteDB.BsonDocument EventDocument(string source, string messageId, byte[] json) => new()
    {
        [Source] = source,
        [MessageId] = messageId,
        [Json] = json,
    };
}

using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>
/// Writes of Hangfire's key/value structures (sets, hashes, lists, counters). Each runs inside the caller's
/// transaction on the write gate. A key's expiration is kept on every row of the key, so a row added to a key
/// that expires takes the key's expiration (the key expires as one).
/// </summary>
internal static class Records
{
    // ---- sets (sorted by score, then value) ----

    public static string SetRowId(string key, string value) => Keys.Compose(key, value);

    public static string SetOrder(string key, double score, string value) => Keys.Compose(key, Keys.Score(score), value);

    public static void AddToSet(LiteDatabase db, string key, string value, double score)
    {
        var col = db.GetCollection(JobsDatabase.Sets);
        var id = SetRowId(key, value);
        var row = col.FindById(id);
        if (row is null)
        {
            col.Insert(new BsonDocument
            {
                ["_id"] = id,
                [SetFields.Key] = key,
                [SetFields.Value] = value,
                [SetFields.Score] = score,
                [SetFields.Order] = SetOrder(key, score, value),
                [SetFields.ExpireAt] = KeyExpiration(col, key),
            });
            return;
        }
        row[SetFields.Score] = score;
        row[SetFields.Order] = SetOrder(key, score, value);
        col.Update(row);
    }

    public static void RemoveFromSet(LiteDatabase db, string key, string value) =>
        db.GetCollection(JobsDatabase.Sets).Delete(SetRowId(key, value));

    // ---- hashes ----

    public static string HashRowId(string key, string field) => Keys.Compose(key, field);

    public static void SetRangeInHash(LiteDatabase db, string key, IEnumerable<KeyValuePair<string, string>> fields)
    {
        var col = db.GetCollection(JobsDatabase.Hashes);
        BsonValue? expireAt = null;
        foreach (var (field, value) in fields)
        {
            ArgumentNullException.ThrowIfNull(field);
            var id = HashRowId(key, field);
            var bsonValue = value is null ? BsonValue.Null : new BsonValue(value);
            var row = col.FindById(id);
            if (row is not null)
            {
                row[HashFields.Value] = bsonValue;
                col.Update(row);
                continue;
            }
            expireAt ??= KeyExpiration(col, key);
            col.Insert(new BsonDocument
            {
                ["_id"] = id,
                [HashFields.Key] = key,
                [HashFields.Field] = field,
                [HashFields.Value] = bsonValue,
                [HashFields.ExpireAt] = expireAt,
            });
        }
    }

    // ---- lists (newest first: index 0 is the last inserted) ----

    public static void InsertToList(LiteDatabase db, long rowId, string key, string value)
    {
        var col = db.GetCollection(JobsDatabase.Lists);
        var first = col.FindOne(Filter.EQ(ListFields.Key, key));
        col.Insert(new BsonDocument
        {
            ["_id"] = rowId,
            [ListFields.Key] = key,
            [ListFields.Value] = value,
            [ListFields.ExpireAt] = first is null ? BsonValue.Null : first[ListFields.ExpireAt],
        });
    }

    /// <summary>A list's rows, newest first.</summary>
    public static List<BsonDocument> ListRows(ILiteCollection<BsonDocument> col, string key) =>
        col.Find(Filter.EQ(ListFields.Key, key)).OrderByDescending(r => r["_id"].AsInt64).ToList();

    public static void RemoveFromList(LiteDatabase db, string key, string value)
    {
        var col = db.GetCollection(JobsDatabase.Lists);
        foreach (var row in col.Find(Filter.EQ(ListFields.Key, key)).ToList())
            if (string.Equals(row[ListFields.Value].AsString, value, StringComparison.Ordinal)) col.Delete(row["_id"]);
    }

    /// <summary>Keeps the rows at positions keepStartingFrom..keepEndingAt (newest first) and deletes the rest.</summary>
    public static void TrimList(LiteDatabase db, string key, int keepStartingFrom, int keepEndingAt)
    {
        var col = db.GetCollection(JobsDatabase.Lists);
        var rows = ListRows(col, key);
        for (var i = 0; i < rows.Count; i++)
            if (i < keepStartingFrom || i > keepEndingAt) col.Delete(rows[i]["_id"]);
    }

    // ---- counters ----

    public static void AddToCounter(LiteDatabase db, string key, long delta, DateTime? expireAt)
    {
        var col = db.GetCollection(JobsDatabase.Counters);
        var row = col.FindById(key);
        var value = (row?[CounterFields.Value].AsInt64 ?? 0) + delta;
        if (value == 0)
        {
            // A counter back at zero is no counter (as in Hangfire's reference storages).
            if (row is not null) col.Delete(key);
            return;
        }
        var expire = expireAt is { } e ? new BsonValue(JobDocuments.ToTicks(e)) : row?[CounterFields.ExpireAt] ?? BsonValue.Null;
        col.Upsert(new BsonDocument { ["_id"] = key, [CounterFields.Value] = value, [CounterFields.ExpireAt] = expire });
    }

    // ---- expiration of a whole key ----

    /// <summary>Sets (or with null, clears) the expiration of every row of <paramref name="key"/>.</summary>
    public static void ExpireKey(LiteDatabase db, string collection, string key, DateTime? expireAt)
    {
        var col = db.GetCollection(collection);
        var bson = expireAt is { } e ? new BsonValue(JobDocuments.ToTicks(e)) : BsonValue.Null;
        var expireField = collection == JobsDatabase.Lists ? ListFields.ExpireAt : collection == JobsDatabase.Sets ? SetFields.ExpireAt : HashFields.ExpireAt;
        foreach (var row in RowsOf(col, collection, key).ToList())
        {
            row[expireField] = bson;
            col.Update(row);
        }
    }

    public static void DeleteKey(LiteDatabase db, string collection, string key)
    {
        var col = db.GetCollection(collection);
        foreach (var row in RowsOf(col, collection, key).ToList()) col.Delete(row["_id"]);
    }

    public static IEnumerable<BsonDocument> RowsOf(ILiteCollection<BsonDocument> col, string collection, string key) =>
        collection == JobsDatabase.Lists ? col.Find(Filter.EQ(ListFields.Key, key)) : col.Find(Keys.Under("_id", key));

    /// <summary>The expiration of an existing key (taken by a row added to it), or null.</summary>
    private static BsonValue KeyExpiration(ILiteCollection<BsonDocument> col, string key) =>
        col.FindOne(Keys.Under("_id", key))?["expireAt"] ?? BsonValue.Null;

    /// <summary>The soonest expiration among a key's rows (Hangfire's TTL of the key).</summary>
    public static long? SoonestExpiration(IEnumerable<BsonDocument> rows, string field)
    {
        long? soonest = null;
        foreach (var row in rows)
        {
            var e = row[field];
            if (e.IsNull) continue;
            soonest = soonest is null ? e.AsInt64 : Math.Min(soonest.Value, e.AsInt64);
        }
        return soonest;
    }
}

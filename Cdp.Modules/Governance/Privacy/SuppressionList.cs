using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;
using LiteDB;

namespace Cdp.Modules.Governance.Privacy;

/// <summary>One suppressed identifier: its salted hash, its type (email, user_id...), when, and the deletion that caused it.</summary>
internal sealed record Suppression(string Hash, string Type, DateTime CreatedAt, string? ReceiptId);

/// <summary>
/// Identifiers that must not come back, stored only as SHA-256(salt || "type:value") with a random per-install salt kept in
/// the database (privacy_state), so the list itself reveals no address. The hashes live in memory (loaded at start), so the
/// ingest check is a hash and a set lookup per identifier, and nothing at all while the list is empty.
/// </summary>
[Service]
internal sealed class SuppressionList : ISuppressionList
{
    public const string Collection = "privacy_suppressions"; // _id = hash (hex), type, at, receipt
    public const string StateCollection = "privacy_state";   // _id "salt": { v: 32 random bytes }

    private const int SaltBytes = 32;

    private readonly CdpDatabase _db;
    private readonly IIdentifierReader _identifiers;
    private readonly byte[] _salt;
    private readonly ConcurrentDictionary<string, byte> _hashes = new(StringComparer.Ordinal);
    private volatile bool _empty;

    public SuppressionList(CdpDatabase db, IIdentifierReader identifiers)
    {
        _db = db;
        _identifiers = identifiers;
        _salt = db.InTransaction(d =>
        {
            var state = d.GetCollection(StateCollection);
            if (state.FindById("salt") is { } s) return s["v"].AsBinary;
            var salt = RandomNumberGenerator.GetBytes(SaltBytes);
            state.Insert(new BsonDocument { ["_id"] = "salt", ["v"] = salt });
            return salt;
        });
        foreach (var d in db.Collection(Collection).Query().Select((BsonExpression)"{_id}").ToList()) _hashes.TryAdd(d["_id"].AsString, 0);
        _empty = _hashes.IsEmpty;
    }

    public bool IsEmpty => _empty;

    public long Count => _hashes.Count;

    public string Hash(string identifierKey)
    {
        var bytes = new byte[_salt.Length + Encoding.UTF8.GetByteCount(identifierKey)];
        _salt.CopyTo(bytes, 0);
        Encoding.UTF8.GetBytes(identifierKey, bytes.AsSpan(_salt.Length));
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    public bool Contains(string identifierKey) => !_empty && _hashes.ContainsKey(Hash(identifierKey));

    public bool Refuses(ReadOnlySpan<byte> eventJson)
    {
        if (_empty) return false;
        try
        {
            var reader = new Utf8JsonReader(eventJson);
            using var doc = JsonDocument.ParseValue(ref reader);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return false;
            foreach (var key in _identifiers.Identifiers(doc.RootElement))
                if (_hashes.ContainsKey(Hash(key))) return true;
            return false;
        }
        catch (JsonException)
        {
            return false; // not an event (a dead letter's raw text): nothing to match
        }
    }

    /// <summary>
    /// Suppresses in memory at once (ingest refuses from now on) and stages the documents in <paramref name="d"/>, the caller's
    /// transaction. Returns the hashes that were new.
    /// </summary>
    public IReadOnlyList<string> Add(LiteDatabase d, IEnumerable<string> identifierKeys, string? receiptId, DateTime at)
    {
        var col = d.GetCollection(Collection);
        var added = new List<string>();
        foreach (var key in identifierKeys)
        {
            var hash = Hash(key);
            _hashes.TryAdd(hash, 0);
            if (col.FindById(hash) is not null) continue;
            col.Insert(new BsonDocument
            {
                ["_id"] = hash, ["type"] = key[..key.IndexOf(':')], ["at"] = at, ["receipt"] = receiptId is null ? BsonValue.Null : new BsonValue(receiptId),
            });
            added.Add(hash);
        }
        _empty = _hashes.IsEmpty;
        return added;
    }

    /// <summary>After a failed transaction: the in-memory hashes of <paramref name="hashes"/> go again.</summary>
    public void Forget(IEnumerable<string> hashes)
    {
        foreach (var h in hashes) _hashes.TryRemove(h, out _);
        _empty = _hashes.IsEmpty;
    }

    public bool Remove(string hash)
    {
        var removed = _db.InTransaction(d => d.GetCollection(Collection).Delete(hash));
        if (removed) Forget([hash]);
        return removed;
    }

    public Suppression? Get(string hash) => _db.Collection(Collection).FindById(hash) is { } d ? FromBson(d) : null;

    public IReadOnlyList<Suppression> List(int skip, int take) =>
        _db.Collection(Collection).Query().OrderBy("$.at").Skip(skip).Limit(take).ToList().Select(FromBson).ToList();

    private static Suppression FromBson(BsonDocument d) =>
        new(d["_id"].AsString, d["type"].AsString, d["at"].AsDateTime.ToUniversalTime(), d["receipt"].IsNull ? null : d["receipt"].AsString);
}

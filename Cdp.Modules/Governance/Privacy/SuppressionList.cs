using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;

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
    private const int SaltBytes = 32;

    private readonly IPrivacyStore _store;
    private readonly IIdentifierReader _identifiers;
    private readonly byte[] _salt;
    /// <summary>The first 128 bits of each hash: no string per lookup on the hot path (a false match is ~1e-34 likely).</summary>
    private volatile ConcurrentDictionary<UInt128, byte> _hashes = new();
    private volatile bool _empty;

    /// <summary>Suppressed identifiers per type: the ingest check extracts only types that have any (a phone costs ~10 µs to normalise).</summary>
    private volatile ConcurrentDictionary<string, int> _types = new(StringComparer.Ordinal);
    private readonly Func<string, bool> _hasType;
    private readonly Func<string, bool> _isSuppressed;

    public SuppressionList(IPrivacyStore store, IIdentifierReader identifiers, IChangeFeed? changes = null)
    {
        _store = store;
        _identifiers = identifiers;
        _hasType = type => _types.TryGetValue(type, out var n) && n > 0;
        _isSuppressed = key => _hashes.ContainsKey(ShortHash(key));
        _salt = store.Salt(() => RandomNumberGenerator.GetBytes(SaltBytes));
        Reload();
        // several hosts on one database: another host's deletion suppresses here too (reloaded when it commits)
        changes?.On(ChangeTopics.Suppressions, Reload);
    }

    /// <summary>The list as stored, swapped in whole (a concurrent check sees the old list or the new one).</summary>
    private void Reload()
    {
        var hashes = new ConcurrentDictionary<UInt128, byte>();
        var types = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (hash, type) in _store.SuppressionIndex())
            if (hashes.TryAdd(Short(hash), 0)) types.AddOrUpdate(type, 1, (_, n) => n + 1);
        _types = types;
        _hashes = hashes;
        _empty = hashes.IsEmpty;
    }

    public bool IsEmpty => _empty;

    public long Count => _hashes.Count;

    /// <summary>The stored form: lower-case hex of SHA-256(salt || UTF-8 "type:value").</summary>
    public string Hash(string identifierKey)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        Digest(identifierKey, digest);
        return Convert.ToHexStringLower(digest);
    }

    private void Digest(string identifierKey, Span<byte> digest)
    {
        var n = _salt.Length + Encoding.UTF8.GetByteCount(identifierKey);
        Span<byte> bytes = n <= 1024 ? stackalloc byte[n] : new byte[n];
        _salt.CopyTo(bytes);
        Encoding.UTF8.GetBytes(identifierKey, bytes[_salt.Length..]);
        SHA256.HashData(bytes, digest);
    }

    private UInt128 ShortHash(string identifierKey)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        Digest(identifierKey, digest);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(digest);
    }

    private static UInt128 Short(string hex) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(Convert.FromHexString(hex.AsSpan(0, 32)));

    public bool Contains(string identifierKey) => !_empty && _hashes.ContainsKey(ShortHash(identifierKey));

    /// <summary>
    /// True when the event carries a suppressed identifier anywhere (<see cref="IIdentifierReader.IdentifiersAnywhere"/>:
    /// any field, any case, any spelling that normalises to it). Text that is not JSON (a dead letter's raw text) is searched
    /// for email- and phone-shaped tokens.
    /// </summary>
    public bool Refuses(ReadOnlySpan<byte> eventJson)
    {
        if (_empty) return false;
        try
        {
            var reader = new Utf8JsonReader(eventJson);
            using var doc = JsonDocument.ParseValue(ref reader);
            return _identifiers.AnyIdentifierAnywhere(doc.RootElement, _hasType, _isSuppressed);
        }
        catch (JsonException)
        {
            return RefusesText(Encoding.UTF8.GetString(eventJson));
        }
    }

    /// <summary>True when free text (a refused event's raw text) holds a suppressed identifier, in any spelling.</summary>
    public bool RefusesText(string text)
    {
        if (_empty) return false;
        foreach (var key in _identifiers.IdentifiersInText(text, _hasType))
            if (_isSuppressed(key)) return true;
        return false;
    }

    /// <summary>
    /// Suppresses in memory at once (ingest refuses from now on) and stages the records in <paramref name="tx"/>, the caller's
    /// transaction. Returns the hashes that were new.
    /// </summary>
    public IReadOnlyList<(string Hash, string Type)> Add(IUnitOfWork tx, IEnumerable<string> identifierKeys, string? receiptId, DateTime at)
    {
        var staged = new List<Suppression>();
        foreach (var key in identifierKeys)
        {
            var hash = Hash(key);
            if (_hashes.TryAdd(Short(hash), 0)) CountType(TypeOf(key), +1);
            staged.Add(new Suppression(hash, TypeOf(key), at, receiptId));
        }
        _empty = _hashes.IsEmpty;
        return _store.AddSuppressions(tx, staged).Select(s => (s.Hash, s.Type)).ToList();
    }

    /// <summary>After a failed transaction: the in-memory hashes of <paramref name="suppressions"/> (hash, type) go again.</summary>
    public void Forget(IEnumerable<(string Hash, string Type)> suppressions)
    {
        foreach (var (h, type) in suppressions)
            if (_hashes.TryRemove(Short(h), out _)) CountType(type, -1);
        _empty = _hashes.IsEmpty;
    }

    public bool Remove(string hash)
    {
        var type = _store.RemoveSuppression(hash);
        if (type is null) return false;
        Forget([(hash, type)]);
        return true;
    }

    private static string TypeOf(string key) => key[..key.IndexOf(':')];

    private void CountType(string type, int by) => _types.AddOrUpdate(type, Math.Max(0, by), (_, n) => Math.Max(0, n + by));

    public Suppression? Get(string hash) => _store.Suppression(hash);

    public IReadOnlyList<Suppression> List(int skip, int take) => _store.Suppressions(skip, take);
}

using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Shared.Storage.Copy;

/// <summary>
/// One module's part of <c>storage copy</c>: the record sets it keeps, each read from the source installation's stores
/// and written to the target's through the same store interfaces (so the copy knows no provider: the stores do). A module
/// registers one with <c>services.AddSingleton&lt;IStoreCopy, ...&gt;()</c>.
/// </summary>
internal interface IStoreCopy
{
    /// <summary>The module, as the copy's report names it ("Identity").</summary>
    string Module { get; }

    /// <summary>The module's record sets, read from <paramref name="source"/>'s stores and written to <paramref name="target"/>'s.</summary>
    IEnumerable<CopySet> Sets(IServiceProvider source, IServiceProvider target);
}

/// <summary>What one record set's copy did: its records and their checksum, the same on both sides.</summary>
public sealed record CopiedSet(string Module, string Name, long Records, string Checksum);

/// <summary>The target's records differ from the source's after the copy: the message names the set, both counts and checksums.</summary>
public sealed class StorageCopyMismatchException(string message) : Exception(message);

/// <summary>
/// One record set of a copy: how to read it on each side and how to write a chunk of it to the target. <see cref="Run"/>
/// copies it and then verifies it: the records read back from the target must be as many, with the same checksum, as
/// those read from the source. The checksum adds up each record's SHA-256 (its first 128 bits, wrapping), so it does not
/// depend on the order in which each provider lists its records.
/// </summary>
internal sealed class CopySet
{
    private readonly Func<Action<byte[]>, long> _copy;
    private readonly Func<Action<byte[]>, long> _readTarget;

    private CopySet(string name, Func<Action<byte[]>, long> copy, Func<Action<byte[]>, long> readTarget)
    {
        Name = name;
        _copy = copy;
        _readTarget = readTarget;
    }

    public string Name { get; }

    /// <summary>Records as JSON with their fields (tuples) and every time as UTC ticks (LiteDB reads times back in local time).</summary>
    public static readonly JsonSerializerOptions Canonical = new() { IncludeFields = true, Converters = { new UtcTicks() } };

    private sealed class UtcTicks : System.Text.Json.Serialization.JsonConverter<DateTime>
    {
        public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(reader.GetInt64(), DateTimeKind.Utc);

        public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) => writer.WriteNumberValue(value.ToUniversalTime().Ticks);
    }

    /// <summary>
    /// A set of <typeparamref name="T"/>: <paramref name="source"/> and <paramref name="target"/> list every record,
    /// <paramref name="write"/> stores a chunk of them (at most <paramref name="chunk"/>) in the target, and
    /// <paramref name="bytes"/> gives a record's canonical bytes (JSON by default).
    /// </summary>
    public static CopySet Of<T>(string name, Func<IEnumerable<T>> source, Func<IEnumerable<T>> target, Action<IReadOnlyList<T>> write,
        Func<T, byte[]>? bytes = null, int chunk = 1000)
    {
        var canonical = bytes ?? (r => JsonSerializer.SerializeToUtf8Bytes(r, Canonical));
        return new CopySet(name,
            add =>
            {
                long n = 0;
                var pending = new List<T>(chunk);
                foreach (var record in source())
                {
                    add(canonical(record));
                    n++;
                    pending.Add(record);
                    if (pending.Count < chunk) continue;
                    write(pending);
                    pending = new List<T>(chunk);
                }
                if (pending.Count > 0) write(pending);
                return n;
            },
            add =>
            {
                long n = 0;
                foreach (var record in target()) { add(canonical(record)); n++; }
                return n;
            });
    }

    /// <summary>A set of one record (a setting, a counter): written as it is, verified the same way.</summary>
    public static CopySet One<T>(string name, Func<T> source, Func<T> target, Action<T> write, Func<T, byte[]>? bytes = null) =>
        Of(name, () => [source()], () => [target()], list => write(list[0]), bytes);

    /// <summary>
    /// Every record a paged read gives: <paramref name="page"/> is asked for the page after the last record of the one
    /// before (default for the first), until a page comes back shorter than <paramref name="size"/>.
    /// </summary>
    public static IEnumerable<T> Paged<T>(Func<T?, IReadOnlyList<T>> page, int size)
    {
        T? last = default;
        while (true)
        {
            var items = page(last);
            foreach (var item in items) yield return item;
            if (items.Count < size) yield break;
            last = items[^1];
        }
    }

    /// <summary>Only reads the target side: its records and their checksum (what the copy compares against).</summary>
    public (long Records, string Checksum) ReadTarget()
    {
        var read = new Checksum();
        var found = _readTarget(read.Add);
        return (found, read.ToString());
    }

    /// <summary>Copies the set, reads it back from the target and compares; throws <see cref="StorageCopyMismatchException"/> on a difference.</summary>
    public CopiedSet Run(string module)
    {
        var copied = new Checksum();
        var records = _copy(copied.Add);
        var read = new Checksum();
        var found = _readTarget(read.Add);
        if (found != records || read.Value != copied.Value)
            throw new StorageCopyMismatchException($"{module} {Name}: copied {records} records (checksum {copied}) but the target holds {found} (checksum {read})");
        return new CopiedSet(module, Name, records, copied.ToString());
    }

    private sealed class Checksum
    {
        public UInt128 Value { get; private set; }

        public void Add(byte[] record)
        {
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(record, hash);
            Value += System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(hash);
        }

        public override string ToString() => Value.ToString("x32");
    }
}

/// <summary>Copies every module's record sets (<see cref="IStoreCopy"/>) from one installation to another.</summary>
public static class StorageCopier
{
    /// <summary>The PostgreSQL target's Cdp tables that already hold rows (a copy goes only into an empty database).</summary>
    public static IReadOnlyList<string> TablesWithRows(IServiceProvider target) => target.GetRequiredService<PostgreSql.PostgresDatabase>().TablesWithRows();

    /// <summary>The PostgreSQL target's connection string, its password hidden.</summary>
    public static string Describe(IServiceProvider target) => target.GetRequiredService<PostgreSql.PostgresDatabase>().Redacted;

    /// <summary>
    /// Every record set of one installation with its count and checksum, without copying anything: the checksums
    /// <see cref="Copy"/> verifies against, e.g. to compare two installations, and the benchmark's ceiling for a copy.
    /// </summary>
    public static IReadOnlyList<CopiedSet> Checksums(IServiceProvider installation) =>
        installation.GetServices<IStoreCopy>().OrderBy(m => m.Module, StringComparer.Ordinal)
            .SelectMany(m => m.Sets(installation, installation).Select(set => (m.Module, set)))
            .Select(x => x.set.ReadTarget() is var (records, checksum) ? new CopiedSet(x.Module, x.set.Name, records, checksum) : null!)
            .ToList();

    /// <summary>Runs each module's sets in turn, reporting each as it is done.</summary>
    public static IReadOnlyList<CopiedSet> Copy(IServiceProvider source, IServiceProvider target, Action<CopiedSet>? done = null)
    {
        var report = new List<CopiedSet>();
        foreach (var module in source.GetServices<IStoreCopy>().OrderBy(m => m.Module, StringComparer.Ordinal))
        foreach (var set in module.Sets(source, target))
        {
            var copied = set.Run(module.Module);
            report.Add(copied);
            done?.Invoke(copied);
        }
        return report;
    }
}

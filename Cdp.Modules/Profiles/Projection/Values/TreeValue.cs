using System.Collections;
using System.Globalization;

namespace Cdp.Modules.Profiles.Projection;

/// <summary>The kinds of a <see cref="TreeValue"/>, in their sort order (a value of a lower kind sorts first; numbers compare across kinds).</summary>
internal enum TreeType
{
    MinValue = 0, Null = 1, Int32 = 2, Int64 = 3, Double = 4, Decimal = 5, String = 6, Document = 7, Array = 8, Binary = 9,
    Guid = 11, Boolean = 12, DateTime = 13, MaxValue = 14,
}

/// <summary>
/// A profile's value tree (traits, their times, counters, computed-trait state, consent, skipped values): what the projection
/// works on, whatever stores it. Its kinds are BSON's, so the LiteDB provider stores it as documents with the same fields as
/// always (<c>LiteDb/TreeBsonDocuments</c>) and PostgreSQL as BSON bytes (<see cref="TreeBson"/>). Semantics follow the stored
/// form: field names are case-insensitive (as in a LiteDB document), a missing field reads as <see cref="Null"/>, numbers of
/// different kinds are equal when their values are, and values order by kind, then by value (strings ordinally).
/// </summary>
internal class TreeValue : IComparable<TreeValue>, IEquatable<TreeValue>
{
    public static readonly TreeValue Null = new(TreeType.Null, null);
    public static readonly TreeValue MinValue = new(TreeType.MinValue, null);
    public static readonly TreeValue MaxValue = new(TreeType.MaxValue, null);

    private readonly object? _raw;

    protected TreeValue(TreeType type, object? raw)
    {
        Type = type;
        _raw = raw;
    }

    public TreeValue(int value) : this(TreeType.Int32, value) { }
    public TreeValue(long value) : this(TreeType.Int64, value) { }
    public TreeValue(double value) : this(TreeType.Double, value) { }
    public TreeValue(decimal value) : this(TreeType.Decimal, value) { }
    public TreeValue(bool value) : this(TreeType.Boolean, value) { }
    public TreeValue(Guid value) : this(TreeType.Guid, value) { }
    public TreeValue(string? value) : this(value is null ? TreeType.Null : TreeType.String, value) { }
    public TreeValue(byte[]? value) : this(value is null ? TreeType.Null : TreeType.Binary, value) { }

    /// <summary>A time, kept as UTC (stored to the millisecond).</summary>
    public TreeValue(DateTime value) : this(TreeType.DateTime, value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : DateTime.SpecifyKind(value, DateTimeKind.Utc)) { }

    public TreeType Type { get; }

    public bool IsNull => Type == TreeType.Null;
    public bool IsInt32 => Type == TreeType.Int32;
    public bool IsInt64 => Type == TreeType.Int64;
    public bool IsDouble => Type == TreeType.Double;
    public bool IsDecimal => Type == TreeType.Decimal;
    public bool IsNumber => Type is TreeType.Int32 or TreeType.Int64 or TreeType.Double or TreeType.Decimal;
    public bool IsString => Type == TreeType.String;
    public bool IsBoolean => Type == TreeType.Boolean;
    public bool IsDateTime => Type == TreeType.DateTime;
    public bool IsBinary => Type == TreeType.Binary;
    public bool IsGuid => Type == TreeType.Guid;
    public bool IsDocument => Type == TreeType.Document;
    public bool IsArray => Type == TreeType.Array;

    /// <summary>A number converted (rounded to the nearest, as <see cref="Convert"/> does); 0 for Null; otherwise InvalidCastException.</summary>
    public int AsInt32 => _raw is null ? 0 : IsNumber ? Convert.ToInt32(_raw, CultureInfo.InvariantCulture) : throw NotA("a number");
    public long AsInt64 => _raw is null ? 0 : IsNumber ? Convert.ToInt64(_raw, CultureInfo.InvariantCulture) : throw NotA("a number");
    public double AsDouble => _raw is null ? 0 : IsNumber ? Convert.ToDouble(_raw, CultureInfo.InvariantCulture) : throw NotA("a number");
    public decimal AsDecimal => _raw is null ? 0 : IsNumber ? Convert.ToDecimal(_raw, CultureInfo.InvariantCulture) : throw NotA("a number");

    /// <summary>The string; null for Null; otherwise InvalidCastException.</summary>
    public string AsString => Type switch { TreeType.String => (string)_raw!, TreeType.Null => null!, _ => throw NotA("a string") };
    public bool AsBoolean => Type == TreeType.Boolean ? (bool)_raw! : throw NotA("a boolean");
    public DateTime AsDateTime => Type == TreeType.DateTime ? (DateTime)_raw! : throw NotA("a time");
    public byte[] AsBinary => Type switch { TreeType.Binary => (byte[])_raw!, TreeType.Null => null!, _ => throw NotA("bytes") };
    public Guid AsGuid => Type == TreeType.Guid ? (Guid)_raw! : throw NotA("a guid");

    /// <summary>This value as a document, or null when it is not one.</summary>
    public TreeDocument AsDocument => (this as TreeDocument)!;

    /// <summary>This value as an array, or null when it is not one.</summary>
    public TreeArray AsArray => (this as TreeArray)!;

    /// <summary>A document's field (Null when missing); on any other value, InvalidOperationException.</summary>
    public virtual TreeValue this[string key]
    {
        get => throw new InvalidOperationException($"a {Type} value has no fields");
        set => throw new InvalidOperationException($"a {Type} value has no fields");
    }

    /// <summary>An array's item; on any other value, InvalidOperationException.</summary>
    public virtual TreeValue this[int index]
    {
        get => throw new InvalidOperationException($"a {Type} value has no items");
        set => throw new InvalidOperationException($"a {Type} value has no items");
    }

    private InvalidCastException NotA(string what) => new($"a {Type} value is not {what}");

    public static implicit operator TreeValue(int value) => new(value);
    public static implicit operator TreeValue(long value) => new(value);
    public static implicit operator TreeValue(double value) => new(value);
    public static implicit operator TreeValue(decimal value) => new(value);
    public static implicit operator TreeValue(bool value) => new(value);
    public static implicit operator TreeValue(string? value) => new(value);
    public static implicit operator TreeValue(DateTime value) => new(value);
    public static implicit operator TreeValue(byte[]? value) => new(value);
    public static implicit operator TreeValue(Guid value) => new(value);

    public virtual int CompareTo(TreeValue? other)
    {
        if (other is null) return 1;
        if (Type != other.Type)
        {
            if (IsNumber && other.IsNumber) return CompareNumbers(this, other);
            return Type < other.Type ? -1 : 1;
        }
        return Type switch
        {
            TreeType.Null or TreeType.MinValue or TreeType.MaxValue => 0,
            TreeType.Int32 => ((int)_raw!).CompareTo((int)other._raw!),
            TreeType.Int64 => ((long)_raw!).CompareTo((long)other._raw!),
            TreeType.Double => ((double)_raw!).CompareTo((double)other._raw!),
            TreeType.Decimal => ((decimal)_raw!).CompareTo((decimal)other._raw!),
            TreeType.String => Math.Sign(string.CompareOrdinal((string)_raw!, (string)other._raw!)),
            TreeType.Binary => ((byte[])_raw!).AsSpan().SequenceCompareTo((byte[])other._raw!),
            TreeType.Guid => ((Guid)_raw!).CompareTo((Guid)other._raw!),
            TreeType.Boolean => ((bool)_raw!).CompareTo((bool)other._raw!),
            TreeType.DateTime => ((DateTime)_raw!).CompareTo((DateTime)other._raw!),
            _ => throw new InvalidOperationException($"no order for {Type}"),
        };
    }

    /// <summary>Numbers of two kinds: as decimals where both fit one, else as doubles (a double beyond the decimals' range).</summary>
    private static int CompareNumbers(TreeValue a, TreeValue b)
    {
        if (a.Type != TreeType.Double && b.Type != TreeType.Double) return a.AsDecimal.CompareTo(b.AsDecimal);
        var x = a.AsDouble;
        var y = b.AsDouble;
        if (Math.Abs(x) < 7.9e28 && Math.Abs(y) < 7.9e28 && double.IsFinite(x) && double.IsFinite(y)) return a.AsDecimal.CompareTo(b.AsDecimal);
        return x.CompareTo(y);
    }

    public bool Equals(TreeValue? other) => other is not null && CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is TreeValue v && Equals(v);

    /// <summary>Equal values hash alike: numbers by their double value, documents and arrays by size.</summary>
    public override int GetHashCode() => Type switch
    {
        TreeType.Int32 or TreeType.Int64 or TreeType.Double or TreeType.Decimal => AsDouble.GetHashCode(),
        TreeType.Document => HashCode.Combine(Type, AsDocument.Count),
        TreeType.Array => HashCode.Combine(Type, AsArray.Count),
        TreeType.Binary => HashCode.Combine(Type, AsBinary.Length),
        _ => HashCode.Combine(Type, _raw),
    };

    public static bool operator ==(TreeValue? a, TreeValue? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(TreeValue? a, TreeValue? b) => !(a == b);

    public override string ToString() => Type switch
    {
        TreeType.Null => "null",
        TreeType.String => (string)_raw!,
        TreeType.Boolean => (bool)_raw! ? "true" : "false",
        TreeType.DateTime => ((DateTime)_raw!).ToString("O", CultureInfo.InvariantCulture),
        TreeType.Binary => Convert.ToBase64String((byte[])_raw!),
        TreeType.Int32 or TreeType.Int64 or TreeType.Double or TreeType.Decimal or TreeType.Guid => Convert.ToString(_raw, CultureInfo.InvariantCulture)!,
        _ => Type.ToString(),
    };
}

/// <summary>An object of the value tree: fields in insertion order, names case-insensitive; a missing field reads as Null.</summary>
internal sealed class TreeDocument : TreeValue, IEnumerable<KeyValuePair<string, TreeValue>>
{
    private readonly Dictionary<string, TreeValue> _fields;

    public TreeDocument() : base(TreeType.Document, null) => _fields = new Dictionary<string, TreeValue>(StringComparer.OrdinalIgnoreCase);

    public TreeDocument(int capacity) : base(TreeType.Document, null) => _fields = new Dictionary<string, TreeValue>(capacity, StringComparer.OrdinalIgnoreCase);

    public override TreeValue this[string key]
    {
        get => _fields.TryGetValue(key, out var v) ? v : Null;
        set => _fields[key] = value ?? Null;
    }

    public int Count => _fields.Count;

    public IEnumerable<string> Keys => _fields.Keys;

    public IEnumerable<TreeValue> Values => _fields.Values;

    public bool ContainsKey(string key) => _fields.ContainsKey(key);

    public bool TryGetValue(string key, out TreeValue value) => _fields.TryGetValue(key, out value!);

    public void Add(string key, TreeValue value) => _fields.Add(key, value ?? Null);

    public bool Remove(string key) => _fields.Remove(key);

    public Dictionary<string, TreeValue>.Enumerator GetEnumerator() => _fields.GetEnumerator();

    IEnumerator<KeyValuePair<string, TreeValue>> IEnumerable<KeyValuePair<string, TreeValue>>.GetEnumerator() => _fields.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _fields.GetEnumerator();

    /// <summary>Field by field in this document's order: the first difference decides, then the shorter document sorts first.</summary>
    public override int CompareTo(TreeValue? other)
    {
        if (other is not TreeDocument d) return other is null ? 1 : TreeType.Document < other.Type ? -1 : 1;
        var i = 0;
        foreach (var (k, v) in _fields)
        {
            if (i == d.Count) return 1;
            var r = v.CompareTo(d[k]);
            if (r != 0) return r;
            i++;
        }
        return i == d.Count ? 0 : -1;
    }
}

/// <summary>An array of the value tree.</summary>
internal sealed class TreeArray : TreeValue, IList<TreeValue>
{
    private readonly List<TreeValue> _items;

    public TreeArray() : base(TreeType.Array, null) => _items = [];

    public TreeArray(IEnumerable<TreeValue> items) : base(TreeType.Array, null) => _items = [.. items];

    public override TreeValue this[int index]
    {
        get => _items[index];
        set => _items[index] = value ?? Null;
    }

    public int Count => _items.Count;

    public bool IsReadOnly => false;

    public void Add(TreeValue item) => _items.Add(item ?? Null);

    public void Clear() => _items.Clear();

    public bool Contains(TreeValue item) => _items.Contains(item);

    public void CopyTo(TreeValue[] array, int arrayIndex) => _items.CopyTo(array, arrayIndex);

    public int IndexOf(TreeValue item) => _items.IndexOf(item);

    public void Insert(int index, TreeValue item) => _items.Insert(index, item ?? Null);

    public bool Remove(TreeValue item) => _items.Remove(item);

    public void RemoveAt(int index) => _items.RemoveAt(index);

    public List<TreeValue>.Enumerator GetEnumerator() => _items.GetEnumerator();

    IEnumerator<TreeValue> IEnumerable<TreeValue>.GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    /// <summary>Item by item: the first difference decides, then the shorter array sorts first.</summary>
    public override int CompareTo(TreeValue? other)
    {
        if (other is not TreeArray a) return other is null ? 1 : TreeType.Array < other.Type ? -1 : 1;
        var stop = Math.Min(Count, a.Count);
        for (var i = 0; i < stop; i++)
        {
            var r = _items[i].CompareTo(a._items[i]);
            if (r != 0) return r;
        }
        return Count.CompareTo(a.Count);
    }
}

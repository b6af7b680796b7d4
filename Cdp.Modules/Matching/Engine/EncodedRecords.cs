using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Cdp.Modules.Matching.Engine;

/// <summary>A record to match: its id, its raw fields, and (when linking two sets) the set it comes from.</summary>
internal sealed record MatchRecord(string Id, IReadOnlyDictionary<string, string?> Fields, int Source = 0);

/// <summary>Dedupe compares every pair; Link compares only pairs whose records come from different sources.</summary>
internal enum LinkType
{
    Dedupe,
    Link,
}

/// <summary>
/// The distinct normalised values of one comparison, interned: equal values have equal ids, so Exact is an
/// integer comparison, and every value's characters sit in one array for the string comparators.
/// </summary>
internal sealed class ValueTable
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<string> _values = [];
    private readonly List<int> _counts = [];
    private char[] _chars = [];
    private int[] _start = [];
    private int[] _length = [];

    public ValueTable(bool dates) => Dates = dates;

    public bool Dates { get; }

    public int Count => _values.Count;

    /// <summary>Occurrences of each value in the comparison's own field (Swapped With fields do not count).</summary>
    public int[] Occurrences { get; private set; } = [];

    /// <summary>Records with a value in the comparison's own field.</summary>
    public int Present { get; private set; }

    /// <summary>yyyyMMdd per value (date comparisons only).</summary>
    public int[] DateCodes { get; private set; } = [];

    /// <summary>Day number per value, or <see cref="DateValue.NoDayNumber"/> (date comparisons only).</summary>
    public int[] DayNumbers { get; private set; } = [];

    public int Intern(string value, bool counted)
    {
        if (!_ids.TryGetValue(value, out var id))
        {
            id = _values.Count;
            _ids.Add(value, id);
            _values.Add(value);
            _counts.Add(0);
        }
        if (counted)
        {
            _counts[id]++;
            Present++;
        }
        return id;
    }

    public string Value(int id) => _values[id];

    public ReadOnlySpan<char> Span(int id) => new(_chars, _start[id], _length[id]);

    public int Length(int id) => _length[id];

    /// <summary>
    /// How many characters two values have in common, counted as a bag (order ignored) over 32 buckets: an upper
    /// bound of Jaro's matching characters and, through the bag distance, a lower bound of the edit distance.
    /// Two vector instructions instead of a string comparison.
    /// </summary>
    public int CommonCharacters(int a, int b)
    {
        if (_length[a] > MaxSignatureLength || _length[b] > MaxSignatureLength) return Math.Min(_length[a], _length[b]);
        return Vector256.Sum(Vector256.Min(_signatures[a], _signatures[b]));
    }

    /// <summary>Byte counts sum without overflow only below 256 characters; longer values skip the bound.</summary>
    private const int MaxSignatureLength = 255;

    private Vector256<byte>[] _signatures = [];

    /// <summary>Lays the values out for the comparators; call once all records are interned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Freeze()
    {
        _chars = new char[_values.Sum(v => v.Length)];
        _start = new int[_values.Count];
        _length = new int[_values.Count];
        var at = 0;
        for (var i = 0; i < _values.Count; i++)
        {
            _values[i].CopyTo(_chars.AsSpan(at));
            _start[i] = at;
            _length[i] = _values[i].Length;
            at += _values[i].Length;
        }
        Occurrences = [.. _counts];
        _signatures = new Vector256<byte>[_values.Count];
        Span<byte> counts = stackalloc byte[32];
        for (var i = 0; i < _values.Count; i++)
        {
            counts.Clear();
            // Buckets merge characters (c & 31); merging only loosens the bounds, never breaks them.
            foreach (var c in _values[i]) counts[c & 31] = (byte)Math.Min(counts[c & 31] + 1, 255);
            _signatures[i] = Vector256.Create<byte>(counts);
        }
        if (!Dates) return;
        DateCodes = new int[_values.Count];
        DayNumbers = new int[_values.Count];
        for (var i = 0; i < _values.Count; i++)
        {
            DateCodes[i] = DateValue.Code(_values[i]);
            DayNumbers[i] = DateValue.DayNumber(DateCodes[i]);
        }
    }
}

/// <summary>
/// Records prepared once for matching: per record and slot the interned value id (-1 = missing), record-major
/// so one pair's values are two short contiguous runs; plus the normalised columns blocking keys are made of.
/// </summary>
internal sealed class EncodedRecords
{
    public const int Missing = -1;

    private readonly Dictionary<(string Field, FieldKind Kind), string?[]> _columns;

    private EncodedRecords(ComparisonPlan plan, string[] ids, int[] sources, int[] values, ValueTable[] tables,
        Dictionary<(string, FieldKind), string?[]> columns)
    {
        Plan = plan;
        Ids = ids;
        Sources = sources;
        Values = values;
        Tables = tables;
        _columns = columns;
    }

    public ComparisonPlan Plan { get; }

    public int Count => Ids.Length;

    public string[] Ids { get; }

    public int[] Sources { get; }

    /// <summary>[record * Plan.SlotCount + slot] = value id in the comparison's table, or <see cref="Missing"/>.</summary>
    public int[] Values { get; }

    /// <summary>One table per comparison; its Swapped With slots intern into the same table.</summary>
    public ValueTable[] Tables { get; }

    /// <summary>The normalised values of a field (normalised as <see cref="ComparisonPlan.KindOf"/> says).</summary>
    public string?[] Column(string field)
    {
        var kind = Plan.KindOf(field);
        return _columns[(field, kind)];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    /// <summary>The same records in another order (record i of the result is record order[i]), sharing the value tables.</summary>
    public EncodedRecords Reordered(int[] order)
    {
        var stride = Plan.SlotCount;
        var values = new int[Values.Length];
        for (var i = 0; i < order.Length; i++)
            Array.Copy(Values, order[i] * stride, values, i * stride, stride);
        return new EncodedRecords(Plan, [.. order.Select(i => Ids[i])], [.. order.Select(i => Sources[i])], values, Tables, _columns);
    }

    public static EncodedRecords Encode(ComparisonPlan plan, IReadOnlyList<MatchRecord> records)
    {
        var columns = new Dictionary<(string, FieldKind), string?[]>();
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        string?[] ColumnOf(string field, FieldKind kind)
        {
            if (columns.TryGetValue((field, kind), out var column)) return column;
            column = new string?[records.Count];
            for (var r = 0; r < records.Count; r++)
                column[r] = records[r].Fields.TryGetValue(field, out var raw) ? FieldNormaliser.Normalise(raw, kind) : null;
            columns[(field, kind)] = column;
            return column;
        }

        var stride = plan.SlotCount;
        var values = new int[records.Count * stride];
        var tables = new ValueTable[plan.Comparisons.Length];
        for (var c = 0; c < plan.Comparisons.Length; c++)
        {
            var comparison = plan.Comparisons[c];
            var table = tables[c] = new ValueTable(comparison.Kind == FieldKind.Date);
            Fill(ColumnOf(comparison.Field, comparison.Kind), c, counted: true);
            foreach (var level in comparison.Levels.Where(l => l.WithSlot >= 0).DistinctBy(l => l.WithSlot))
                Fill(ColumnOf(level.With!, comparison.Kind), level.WithSlot, counted: false);
            table.Freeze();

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            void Fill(string?[] column, int slot, bool counted)
            {
                for (var r = 0; r < column.Length; r++)
                    values[r * stride + slot] = column[r] is { } v ? table.Intern(v, counted) : Missing;
            }
        }
        foreach (var key in plan.BlockingRules.SelectMany(r => r.Keys))
            ColumnOf(key.Field, plan.KindOf(key.Field));

        return new EncodedRecords(
            plan,
            [.. records.Select(r => r.Id)],
            [.. records.Select(r => r.Source)],
            values,
            tables,
            columns);
    }
}

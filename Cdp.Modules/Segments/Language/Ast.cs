using System.Text.Json;
using System.Text.RegularExpressions;

namespace Cdp.Modules.Segments.Language;

/// <summary>A parsed condition. <see cref="Text"/> is its source text, used in explanations.</summary>
internal abstract record Condition(string Text);

internal sealed record AllOf(string Text, IReadOnlyList<Condition> Parts) : Condition(Text);

internal sealed record AnyOf(string Text, IReadOnlyList<Condition> Parts) : Condition(Text);

internal sealed record Negation(string Text, Condition Inner) : Condition(Text);

/// <summary>A test on a value found at <see cref="Path"/> in a JSON object (profile traits, computed traits, or an event payload).</summary>
internal sealed record ValueCondition(string Text, ValueSource Source, string[] Path, ValueTest Test) : Condition(Text);

internal enum ValueSource { Traits, Computed, Event }

internal sealed record EventCondition(string Text, EventSelector Selector, Condition? Filter, CountRange Count, DayWindow Window) : Condition(Text)
{
    /// <summary>What the counters are kept for: the selector and the filter, not the count or the window.</summary>
    public string Signature => Selector.Canonical + (Filter is null ? "" : " where " + Filter.Text);

    private string? _counterId;

    /// <summary>The key of this condition's counters (a hash of <see cref="Signature"/>): conditions that differ only in count or window share them.</summary>
    public string CounterId => _counterId ??= Evaluation.Days.SignatureId(Signature);
}

internal sealed record SegmentReference(string Text, string Key, int Line, int Column) : Condition(Text);

/// <summary>Which events: a track event by name, or page/screen calls (optionally by name), or any event.</summary>
internal sealed record EventSelector(string? Type, string? Name)
{
    public bool Matches(string type, string? name) =>
        (Type is null || Type == type) && (Name is null || string.Equals(Name, name, StringComparison.Ordinal));

    public string Canonical => (Type ?? "any") + (Name is null ? "" : " " + JsonSerializer.Serialize(Name));

    /// <summary>How explanations name it: "Page Viewed", "page \"Pricing\"", "any event".</summary>
    public string Label => Type switch
    {
        "track" => Name!,
        null => "any event",
        _ => Name is null ? Type + " calls" : $"{Type} \"{Name}\"",
    };
}

/// <summary>Inclusive count bounds; <see cref="Max"/> null = no upper bound.</summary>
internal sealed record CountRange(long Min, long? Max)
{
    public static readonly CountRange AtLeastOnce = new(1, null);

    public bool Contains(long n) => n >= Min && (Max is null || n <= Max);

    public string Describe() => Max switch
    {
        null => $"at least {Min}",
        { } m when m == Min => $"exactly {Min}",
        { } m when Min == 0 => $"at most {m}",
        { } m => $"between {Min} and {m}",
    };
}

/// <summary>
/// A window of whole UTC days relative to today: days ago in [<see cref="FromDaysAgo"/>, <see cref="ToDaysAgo"/>].
/// within 30d = [0, 29]; between 7 and 30 days ago = [7, 30]; <see cref="Ever"/> = all time.
/// </summary>
internal sealed record DayWindow(int FromDaysAgo, int? ToDaysAgo)
{
    public static readonly DayWindow Ever = new(0, null);

    public bool IsEver => ToDaysAgo is null && FromDaysAgo == 0;

    /// <summary>Oldest day (days ago) the window needs; how long counters must be kept.</summary>
    public int Retention => ToDaysAgo ?? 0;

    public string Describe() => IsEver ? "ever" : FromDaysAgo == 0 ? $"in {ToDaysAgo + 1} d" : $"{FromDaysAgo}-{ToDaysAgo} days ago";
}

internal abstract record ValueTest;

internal enum Comparison { Equal, NotEqual, Less, LessOrEqual, Greater, GreaterOrEqual }

internal sealed record Compare(Comparison Op, Literal Value) : ValueTest;

internal sealed record TextTest(string Op, string Value) : ValueTest; // contains, startsWith, endsWith

internal sealed record OneOf(IReadOnlyList<Literal> Values) : ValueTest;

internal sealed record Exists : ValueTest;

internal sealed record Matches(Regex Pattern) : ValueTest;

/// <summary>A date value (ISO-8601 string or epoch milliseconds) in a window of UTC days, or before/after a moment.</summary>
internal sealed record DateTest(string Op, DayWindow? Window, DateRef? Reference) : ValueTest;

/// <summary>A fixed date, or N days ago (start of that UTC day).</summary>
internal sealed record DateRef(DateTime? Fixed, int? DaysAgo);

internal enum LiteralKind { String, Number, Boolean, Null }

internal sealed record Literal(LiteralKind Kind, string? Text, double Number, bool Boolean)
{
    public static Literal Of(string s) => new(LiteralKind.String, s, 0, false);

    public static Literal Of(double n) => new(LiteralKind.Number, null, n, false);

    public static Literal Of(bool b) => new(LiteralKind.Boolean, null, 0, b);

    public static readonly Literal Null = new(LiteralKind.Null, null, 0, false);
}

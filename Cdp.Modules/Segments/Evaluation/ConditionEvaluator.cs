using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cdp.Modules.Segments.Language;

namespace Cdp.Modules.Segments.Evaluation;

/// <summary>What a condition is evaluated against: one profile, now.</summary>
internal sealed class EvaluationInput
{
    public required JsonElement Traits { get; init; }
    public required JsonElement Computed { get; init; }
    public required IReadOnlyDictionary<string, EventCounter> Counters { get; init; }

    /// <summary>Membership of another segment (already evaluated for this profile: segments are evaluated dependencies first).</summary>
    public required Func<string, bool> InSegment { get; init; }

    public required int Today { get; init; }
}

/// <summary>One line of an explanation: the condition, whether it holds, and what the profile has.</summary>
internal sealed record ConditionExplanation(string Condition, bool Met, string Detail);

/// <summary>
/// Evaluates conditions. Comparison semantics (docs/segments.md): the literal decides the kind of comparison. A number
/// literal compares numerically (JSON numbers, or strings that parse as invariant numbers); a string literal compares
/// ordinally, case-sensitive (numbers and booleans by their JSON text); a missing or null value fails every test except
/// "= null" (use "not" to include profiles without the value). Arrays match when any element does ("!=": when none does).
/// </summary>
internal static class ConditionEvaluator
{
    public static bool Evaluate(Condition c, EvaluationInput input) => c switch
    {
        AllOf all => all.Parts.All(p => Evaluate(p, input)),
        AnyOf any => any.Parts.Any(p => Evaluate(p, input)),
        Negation not => !Evaluate(not.Inner, input),
        SegmentReference r => input.InSegment(r.Key),
        EventCondition e => e.Count.Contains(Count(e, input)),
        ValueCondition v => Test(v.Test, Resolve(v.Source == ValueSource.Traits ? input.Traits : input.Computed, v.Path), input.Today),
        _ => throw new InvalidOperationException($"unknown condition {c.GetType().Name}"),
    };

    public static long Count(EventCondition e, EvaluationInput input)
    {
        if (!input.Counters.TryGetValue(e.CounterId, out var counter)) return 0;
        var w = e.Window;
        return counter.Count(input.Today - (w.ToDaysAgo ?? 0), w.FromDaysAgo == 0 ? int.MaxValue : input.Today - w.FromDaysAgo, w.IsEver);
    }

    /// <summary>An event filter against one event payload.</summary>
    public static bool Filter(Condition c, JsonElement payload, int today) => c switch
    {
        AllOf all => all.Parts.All(p => Filter(p, payload, today)),
        AnyOf any => any.Parts.Any(p => Filter(p, payload, today)),
        Negation not => !Filter(not.Inner, payload, today),
        ValueCondition v => Test(v.Test, Resolve(payload, v.Path), today),
        _ => false,
    };

    /// <summary>One explanation line per top-level condition ("and" parts are listed one by one).</summary>
    public static IReadOnlyList<ConditionExplanation> Explain(Condition c, EvaluationInput input) =>
        (c is AllOf all ? all.Parts : [c]).Select(p => new ConditionExplanation(p.Text, Evaluate(p, input), Detail(p, input))).ToList();

    private static string Detail(Condition c, EvaluationInput input)
    {
        switch (c)
        {
            case EventCondition e:
                var n = Count(e, input);
                var label = e.Selector.Label + (e.Filter is null ? "" : $" ({e.Filter.Text})");
                return n == 0 ? $"no {label} {e.Window.Describe()}" : $"{label} x{n} {e.Window.Describe()}";
            case Negation { Inner: EventCondition } not:
                return Detail(not.Inner, input);
            case Negation not:
                return "not: " + Detail(not.Inner, input);
            case SegmentReference r:
                return (input.InSegment(r.Key) ? "in segment " : "not in segment ") + r.Key;
            case ValueCondition v:
                var value = Resolve(v.Source == ValueSource.Traits ? input.Traits : input.Computed, v.Path);
                var name = (v.Source == ValueSource.Traits ? "traits." : "computed.") + string.Join('.', v.Path);
                return value is { } x ? $"{name} is {Shorten(x.GetRawText())}" : $"{name} is missing";
            case AllOf all:
                return string.Join(" and ", all.Parts.Select(p => Detail(p, input)));
            case AnyOf any:
                return string.Join(" or ", any.Parts.Select(p => Detail(p, input)));
            default:
                return c.Text;
        }
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";

    /// <summary>The value at a path (objects only), or null when missing or JSON null.</summary>
    public static JsonElement? Resolve(JsonElement root, string[] path)
    {
        var v = root;
        foreach (var p in path)
        {
            if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty(p, out v)) return null;
        }
        return v.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined ? null : v;
    }

    public static bool Test(ValueTest test, JsonElement? value, int today)
    {
        if (test is Compare { Value.Kind: LiteralKind.Null } nullCompare)
            return nullCompare.Op == Comparison.Equal ? value is null : value is not null;
        if (value is not { } v) return false;
        if (test is Exists) return true;
        if (v.ValueKind == JsonValueKind.Array)
        {
            if (test is Compare { Op: Comparison.NotEqual } ne)
                return v.EnumerateArray().All(x => Scalar(ne with { Op = Comparison.Equal }, x, today) == false);
            return v.EnumerateArray().Any(x => Scalar(test, x, today));
        }
        return Scalar(test, v, today);
    }

    private static bool Scalar(ValueTest test, JsonElement v, int today)
    {
        switch (test)
        {
            case Compare c: return CompareValue(c, v);
            case OneOf o: return o.Values.Any(l => CompareValue(new Compare(Comparison.Equal, l), v));
            case TextTest t:
                var text = Text(v);
                if (text is null) return false;
                return t.Op switch
                {
                    "contains" => text.Contains(t.Value, StringComparison.Ordinal),
                    "startsWith" => text.StartsWith(t.Value, StringComparison.Ordinal),
                    _ => text.EndsWith(t.Value, StringComparison.Ordinal),
                };
            case Matches m:
                var s = Text(v);
                if (s is null) return false;
                try { return m.Pattern.IsMatch(s); }
                catch (RegexMatchTimeoutException) { return false; }
            case DateTest d:
                if (AsDate(v) is not { } date) return false;
                var day = Days.Of(date);
                return d.Op switch
                {
                    "within" => day >= today - d.Window!.ToDaysAgo!.Value,
                    "between" => day >= today - d.Window!.ToDaysAgo!.Value && day <= today - d.Window.FromDaysAgo,
                    "before" => date < Moment(d.Reference!, today),
                    _ => date >= Moment(d.Reference!, today),
                };
            default: return false;
        }
    }

    private static DateTime Moment(DateRef r, int today) => r.Fixed ?? Days.Start(today - r.DaysAgo!.Value);

    private static bool CompareValue(Compare c, JsonElement v)
    {
        int order;
        switch (c.Value.Kind)
        {
            case LiteralKind.Boolean:
                if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return false;
                var equal = (v.ValueKind == JsonValueKind.True) == c.Value.Boolean;
                return c.Op == Comparison.Equal ? equal : c.Op == Comparison.NotEqual && !equal;
            case LiteralKind.Number:
                if (Number(v) is not { } n) return false;
                order = n.CompareTo(c.Value.Number);
                break;
            case LiteralKind.String:
                if (Text(v) is not { } s) return false;
                order = string.CompareOrdinal(s, c.Value.Text);
                break;
            default:
                return false;
        }
        return c.Op switch
        {
            Comparison.Equal => order == 0,
            Comparison.NotEqual => order != 0,
            Comparison.Less => order < 0,
            Comparison.LessOrEqual => order <= 0,
            Comparison.Greater => order > 0,
            _ => order >= 0,
        };
    }

    /// <summary>A finite number (a JSON number, or a string that parses as one), else null: "NaN", "Infinity" and 1e400 compare as nothing.</summary>
    private static double? Number(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Number when v.TryGetDouble(out var n) && double.IsFinite(n) => n,
        JsonValueKind.String when double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) => d,
        _ => null,
    };

    /// <summary>Milliseconds from the Unix epoch to DateTime.MinValue and MaxValue: epoch numbers outside are no date.</summary>
    private static readonly double MinEpochMs = (DateTime.MinValue - DateTime.UnixEpoch).TotalMilliseconds;
    private static readonly double MaxEpochMs = (DateTime.MaxValue - DateTime.UnixEpoch).TotalMilliseconds;

    private static string? Text(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Number => v.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    /// <summary>ISO-8601 strings (UTC unless an offset is given), or Unix epoch numbers (seconds below 1e11, else milliseconds).</summary>
    private static DateTime? AsDate(JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.String)
            return DateTime.TryParse(v.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d) ? d : null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var epoch) && Math.Abs(epoch) < 1e14)
        {
            var ms = Math.Abs(epoch) < 1e11 ? epoch * 1000 : epoch;
            return ms > MinEpochMs && ms < MaxEpochMs ? DateTime.UnixEpoch.AddMilliseconds(ms) : null; // -9e10 s is before year 1
        }
        return null;
    }
}

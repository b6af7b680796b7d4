using System.Globalization;
using System.Text.RegularExpressions;

namespace Cdp.Modules.Segments.Language;

/// <summary>
/// Recursive-descent parser of the segment language (grammar in docs/segments.md). Every error names the line,
/// the column and what was expected. Keywords are case-insensitive; strings, trait names and event names are not.
/// </summary>
internal sealed class SegmentParser
{
    /// <summary>Longest window or day offset accepted: ten years (counters are kept per day).</summary>
    public const int MaxDays = 3660;

    /// <summary>
    /// Deepest nesting of parentheses, 'not' and 'where' filters. Hand-written conditions stay under 10; the parser, the
    /// evaluator and the explanations recurse once per level, so a bound keeps any definition far from a stack overflow
    /// (Windows gives the main thread 1 MB) and a stored definition can never crash the host at start-up.
    /// </summary>
    public const int MaxNesting = 32;

    /// <summary>
    /// Longest regular expression, in characters. Regexes test trait values (emails, codes, phone numbers); a longer
    /// pattern is a mistake or an attack, and building a pattern costs time and memory in its length.
    /// </summary>
    public const int MaxRegexLength = 1000;

    /// <summary>
    /// Matches of one regex test may not take longer than this; a timed-out test counts as "does not match".
    /// NonBacktracking keeps matching linear in the input, so only very long values with large patterns get near it.
    /// </summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(100);

    private readonly string _source;
    private readonly List<Token> _tokens;
    private int _next;
    private int _depth;

    private SegmentParser(string source)
    {
        _source = source;
        _tokens = Tokenizer.Tokenize(source);
    }

    /// <summary>Parses a whole expression; throws <see cref="SegmentSyntaxException"/>.</summary>
    public static Condition Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var parser = new SegmentParser(source);
        if (parser.Peek.Kind == TokenKind.End) throw parser.Expected("a condition");
        var condition = parser.ParseOr(inFilter: false);
        if (parser.Peek.Kind != TokenKind.End) throw parser.Expected("'and', 'or' or the end of the expression");
        return condition;
    }

    private Token Peek => _tokens[_next];

    private Token PeekAt(int ahead) => _tokens[Math.Min(_next + ahead, _tokens.Count - 1)];

    private Token Take() => _tokens[_next++];

    private Token Previous => _tokens[_next - 1];

    private SegmentSyntaxException Expected(string what, string? after = null) =>
        new(Peek.Line, Peek.Column, $"expected {what}{(after is null ? "" : $" after '{after}'")}, found {Peek.Describe()}");

    private static SegmentSyntaxException At(Token t, string problem) => new(t.Line, t.Column, problem);

    private string TextFrom(Token first) => _source[first.Start..Previous.End];

    private Token Word(string word, string? after = null)
    {
        if (!Peek.Is(word)) throw Expected($"'{word}'", after);
        return Take();
    }

    private bool TakeWord(string word)
    {
        if (!Peek.Is(word)) return false;
        _next++;
        return true;
    }

    private Condition ParseOr(bool inFilter)
    {
        var first = Peek;
        var parts = new List<Condition> { ParseAnd(inFilter) };
        while (TakeWord("or")) parts.Add(ParseAnd(inFilter));
        return parts.Count == 1 ? parts[0] : new AnyOf(TextFrom(first), parts);
    }

    private Condition ParseAnd(bool inFilter)
    {
        var first = Peek;
        var parts = new List<Condition> { ParseUnary(inFilter) };
        while (TakeWord("and")) parts.Add(ParseUnary(inFilter));
        return parts.Count == 1 ? parts[0] : new AllOf(TextFrom(first), parts);
    }

    /// <summary>One level deeper ('(', 'not' or 'where' at <paramref name="at"/>); every caller leaves it with <see cref="Leave"/>.</summary>
    private void Enter(Token at)
    {
        if (++_depth > MaxNesting)
            throw At(at, $"the condition nests more than {MaxNesting} levels deep (parentheses, 'not' and 'where' count); write it flatter");
        // a second guard for callers on small stacks (thread-pool threads have 1.5 MB, some hosts less)
        if (!System.Runtime.CompilerServices.RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw At(at, "the condition nests too deeply to be read");
    }

    private void Leave() => _depth--;

    private Condition ParseUnary(bool inFilter)
    {
        var first = Peek;
        if (!TakeWord("not")) return ParsePrimary(inFilter);
        Enter(first);
        var inner = ParseUnary(inFilter);
        Leave();
        return new Negation(TextFrom(first), inner);
    }

    private Condition ParsePrimary(bool inFilter)
    {
        var first = Peek;
        if (first.IsSymbol("("))
        {
            Take();
            Enter(first);
            var inner = ParseOr(inFilter);
            if (!Peek.IsSymbol(")")) throw Expected("')' to close the '(' at line " + first.Line + ", column " + first.Column);
            Take();
            Leave();
            return inner;
        }
        if (inFilter)
        {
            if (Peek.Kind == TokenKind.Word && (Peek.Is("properties") || Peek.Is("context") || Peek.Is("traits")))
                return ParseValueCondition(ValueSource.Event);
            throw Expected("an event property condition (properties.…, context.… or traits.…), 'not' or '('");
        }
        if (first.Is("performed")) return ParsePerformed();
        if (first.Is("in") && PeekAt(1).Is("segment"))
        {
            Take();
            Take();
            if (Peek.Kind != TokenKind.String) throw Expected("a segment key in quotes", "in segment");
            var key = Take();
            return new SegmentReference(TextFrom(first), key.Text, key.Line, key.Column);
        }
        if (first.Is("traits")) return ParseValueCondition(ValueSource.Traits);
        if (first.Is("computed")) return ParseValueCondition(ValueSource.Computed);
        throw Expected("a condition (traits.…, computed.…, performed …, in segment \"…\", 'not' or '(')");
    }

    // ---- values --------------------------------------------------------------------------------------------

    private Condition ParseValueCondition(ValueSource source)
    {
        var first = Take(); // the root word
        var path = new List<string>();
        if (source == ValueSource.Event) path.Add(first.Text); // event paths are read from the payload root
        if (!Peek.IsSymbol(".")) throw Expected("'.' and a name", first.Text);
        while (Peek.IsSymbol("."))
        {
            Take();
            if (Peek.Kind is not (TokenKind.Word or TokenKind.String)) throw Expected("a name", ".");
            path.Add(Take().Text);
        }
        var test = ParseTest(string.Join('.', path));
        return new ValueCondition(TextFrom(first), source, [.. path], test);
    }

    private ValueTest ParseTest(string path)
    {
        var op = Peek;
        if (op.Kind == TokenKind.Symbol && op.Text is "=" or "==" or "!=" or "<" or "<=" or ">" or ">=")
        {
            Take();
            var cmp = op.Text switch
            {
                "=" or "==" => Comparison.Equal,
                "!=" => Comparison.NotEqual,
                "<" => Comparison.Less,
                "<=" => Comparison.LessOrEqual,
                ">" => Comparison.Greater,
                _ => Comparison.GreaterOrEqual,
            };
            var literal = ParseLiteral(op.Text);
            if (cmp is not (Comparison.Equal or Comparison.NotEqual) && literal.Kind is LiteralKind.Boolean or LiteralKind.Null)
                throw At(Previous, $"'{op.Text}' compares numbers or strings, not {Previous.Text}");
            return new Compare(cmp, literal);
        }
        if (op.Is("contains") || op.Is("startsWith") || op.Is("endsWith"))
        {
            Take();
            if (Peek.Kind != TokenKind.String) throw Expected("a string in quotes", op.Text);
            var canonical = op.Is("contains") ? "contains" : op.Is("startsWith") ? "startsWith" : "endsWith";
            return new TextTest(canonical, Take().Text);
        }
        if (op.Is("in"))
        {
            Take();
            if (!Peek.IsSymbol("[")) throw Expected("'['", "in");
            Take();
            var values = new List<Literal> { ParseLiteral("[") };
            while (Peek.IsSymbol(","))
            {
                Take();
                values.Add(ParseLiteral(","));
            }
            if (!Peek.IsSymbol("]")) throw Expected("',' or ']'");
            Take();
            return new OneOf(values);
        }
        if (op.Is("exists"))
        {
            Take();
            return new Exists();
        }
        if (op.Is("matches"))
        {
            Take();
            if (Peek.Kind != TokenKind.String) throw Expected("a regular expression in quotes", "matches");
            return new Matches(CompileRegex(Take()));
        }
        if (op.Is("within"))
        {
            Take();
            return new DateTest("within", new DayWindow(0, Days(Duration("within")) - 1), null);
        }
        if (op.Is("before") || op.Is("after"))
        {
            Take();
            return new DateTest(op.Is("before") ? "before" : "after", null, ParseDateRef(op.Text));
        }
        if (op.Is("between"))
        {
            Take();
            var (from, to) = ParseDaysAgoRange();
            return new DateTest("between", new DayWindow(from, to), null);
        }
        throw Expected($"a test for {path} (=, !=, <, <=, >, >=, contains, startsWith, endsWith, in, exists, matches, within, before, after, between)");
    }

    /// <summary>
    /// The regex of a 'matches' test, or an error at its position. The engine is .NET's NonBacktracking one: matching
    /// time is linear in the value, whatever the pattern, at the price of constructs that need backtracking
    /// (lookarounds, backreferences, atomic groups, conditionals, \G) and of patterns whose counted repetitions expand
    /// into too many states (e.g. (a{1000}){1000}), which the engine refuses when the pattern is built.
    /// </summary>
    private static Regex CompileRegex(Token pattern)
    {
        if (pattern.Text.Length > MaxRegexLength)
            throw At(pattern, $"a regular expression has at most {MaxRegexLength} characters (this one has {pattern.Text.Length})");
        try
        {
            return new Regex(pattern.Text, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, RegexTimeout);
        }
        catch (ArgumentException ex)
        {
            throw At(pattern, $"invalid regular expression: {ex.Message}");
        }
        catch (NotSupportedException ex)
        {
            throw At(pattern, "unsupported regular expression: " + Unsupported(ex.Message));
        }
        catch (Exception ex) when (ex is OutOfMemoryException or InsufficientExecutionStackException or InvalidOperationException)
        {
            throw At(pattern, $"the regular expression is too complex to build ({ex.GetType().Name})");
        }
    }

    /// <summary>The engine's refusal in the segment language's words (its own message when it is not one of the known ones).</summary>
    private static string Unsupported(string message)
    {
        const string construct = "expressions containing: '";
        var at = message.IndexOf(construct, StringComparison.Ordinal);
        if (at >= 0)
        {
            var what = message[(at + construct.Length)..].TrimEnd('.', '\'', ' ');
            return $"{what} is not available: segment regexes run on a linear-time engine without backtracking " +
                   "(no lookarounds, backreferences, atomic groups or conditionals)";
        }
        if (message.Contains("automata as large as", StringComparison.Ordinal))
            return "its counted repetitions (such as {1000}) expand to more states than the regex engine allows (10,000); use smaller counts";
        return message;
    }

    private Literal ParseLiteral(string after)
    {
        var t = Peek;
        switch (t.Kind)
        {
            case TokenKind.String: Take(); return Literal.Of(t.Text);
            case TokenKind.Number: Take(); return Literal.Of(t.Number);
            case TokenKind.Word when t.Is("true") || t.Is("false"): Take(); return Literal.Of(t.Is("true"));
            case TokenKind.Word when t.Is("null"): Take(); return Literal.Null;
            default: throw Expected("a value (a string in quotes, a number, true, false or null)", after);
        }
    }

    private DateRef ParseDateRef(string after)
    {
        if (Peek.Kind == TokenKind.String)
        {
            var t = Take();
            if (!DateTime.TryParse(t.Text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var fixedDate))
                throw At(t, $"expected an ISO-8601 date such as \"2026-01-31\", found {t.Describe()}");
            return new DateRef(fixedDate, null);
        }
        if (Peek.Kind == TokenKind.Duration)
        {
            var days = Days(Take());
            Word("ago", Previous.Text);
            return new DateRef(null, days);
        }
        throw Expected("a date in quotes (\"2026-01-31\") or a duration and 'ago' (30d ago)", after);
    }

    /// <summary>"N and M days ago" after 'between'.</summary>
    private (int From, int To) ParseDaysAgoRange()
    {
        var from = WholeNumber("between");
        Word("and", from.ToString(CultureInfo.InvariantCulture));
        var toToken = Peek;
        var to = WholeNumber("and");
        Word("days", to.ToString(CultureInfo.InvariantCulture));
        Word("ago", "days");
        if (to < from) throw At(toToken, $"the range is backwards: {to} is less than {from}");
        if (to > MaxDays) throw At(toToken, $"at most {MaxDays} days");
        return ((int)from, (int)to);
    }

    private Token Duration(string after)
    {
        if (Peek.Kind != TokenKind.Duration) throw Expected("a duration such as 30d or 2w", after);
        return Take();
    }

    private static int Days(Token duration)
    {
        if (duration.Number < 1 || duration.Number > MaxDays) throw At(duration, $"a duration must be between 1 and {MaxDays} days");
        return (int)duration.Number;
    }

    private long WholeNumber(string after)
    {
        var t = Peek;
        if (t.Kind != TokenKind.Number || t.Number != Math.Floor(t.Number) || t.Number < 0 || t.Number > int.MaxValue)
            throw Expected("a whole number", after);
        Take();
        return (long)t.Number;
    }

    // ---- events --------------------------------------------------------------------------------------------

    private Condition ParsePerformed()
    {
        var first = Take(); // performed
        var selector = ParseSelector();
        Condition? filter = null;
        if (Peek.Is("where"))
        {
            Enter(Take());
            filter = ParseFilter();
            Leave();
        }
        CountRange? count = null;
        DayWindow? window = null;
        while (true)
        {
            var t = Peek;
            if (t.Is("at") || t.Is("exactly") || (t.Kind == TokenKind.Number) || (t.Is("between") && IsCountRange()))
            {
                if (count is not null) throw At(t, "the count is already given");
                count = ParseCount();
                continue;
            }
            if (t.Is("within") || t.Is("between") || t.Is("ever"))
            {
                if (window is not null) throw At(t, "the time window is already given");
                window = ParseWindow();
                continue;
            }
            break;
        }
        return new EventCondition(TextFrom(first), selector, filter, count ?? CountRange.AtLeastOnce, window ?? DayWindow.Ever);
    }

    private bool IsCountRange() => PeekAt(4).Is("time") || PeekAt(4).Is("times");

    private EventSelector ParseSelector()
    {
        var t = Peek;
        if (t.Kind == TokenKind.String)
        {
            Take();
            return new EventSelector("track", t.Text);
        }
        if (t.Is("track") || t.Is("page") || t.Is("screen"))
        {
            Take();
            var type = t.Text.ToLowerInvariant();
            string? name = null;
            if (Peek.Kind == TokenKind.String) name = Take().Text;
            return new EventSelector(type, name);
        }
        if (t.Is("identify") || t.Is("group") || t.Is("alias"))
        {
            Take();
            return new EventSelector(t.Text.ToLowerInvariant(), null);
        }
        if (t.Is("any"))
        {
            Take();
            TakeWord("event");
            return new EventSelector(null, null);
        }
        throw Expected("an event name in quotes, or page, screen, track, identify, group, alias or any", "performed");
    }

    /// <summary>Property tests joined by 'and'; a further 'and' belongs to the filter only when a property path follows it.</summary>
    private Condition ParseFilter()
    {
        var first = Peek;
        var parts = new List<Condition> { ParseUnary(inFilter: true) };
        while (Peek.Is("and") && (PeekAt(1).Is("properties") || PeekAt(1).Is("context")))
        {
            Take();
            parts.Add(ParseUnary(inFilter: true));
        }
        return parts.Count == 1 ? parts[0] : new AllOf(TextFrom(first), parts);
    }

    private CountRange ParseCount()
    {
        CountRange range;
        if (TakeWord("at"))
        {
            if (TakeWord("least")) range = new CountRange(WholeNumber("at least"), null);
            else if (TakeWord("most")) range = new CountRange(0, WholeNumber("at most"));
            else throw Expected("'least' or 'most'", "at");
        }
        else if (TakeWord("exactly"))
        {
            var n = WholeNumber("exactly");
            range = new CountRange(n, n);
        }
        else if (TakeWord("between"))
        {
            var min = WholeNumber("between");
            Word("and", min.ToString(CultureInfo.InvariantCulture));
            var maxToken = Peek;
            var max = WholeNumber("and");
            if (max < min) throw At(maxToken, $"the range is backwards: {max} is less than {min}");
            range = new CountRange(min, max);
        }
        else
        {
            var n = WholeNumber("performed");
            range = new CountRange(n, n);
        }
        if (!TakeWord("times") && !TakeWord("time")) throw Expected("'times'", Previous.Text);
        return range;
    }

    private DayWindow ParseWindow()
    {
        if (TakeWord("ever")) return DayWindow.Ever;
        if (TakeWord("within")) return new DayWindow(0, Days(Duration("within")) - 1);
        Word("between");
        var (from, to) = ParseDaysAgoRange();
        return new DayWindow(from, to);
    }
}

using System.Globalization;
using System.Text;

namespace Cdp.Modules.Segments.Language;

internal enum TokenKind { Word, String, Number, Duration, Symbol, End }

/// <summary>One token with where it starts (1-based line and column) and its offsets in the source.</summary>
internal sealed record Token(TokenKind Kind, string Text, int Line, int Column, int Start, int End, double Number = 0)
{
    public bool Is(string word) => Kind == TokenKind.Word && string.Equals(Text, word, StringComparison.OrdinalIgnoreCase);

    public bool IsSymbol(string symbol) => Kind == TokenKind.Symbol && Text == symbol;

    /// <summary>How an error message names the token.</summary>
    public string Describe() => Kind switch
    {
        TokenKind.End => "the end of the expression",
        TokenKind.String => $"the string \"{Text}\"",
        _ => $"'{Text}'",
    };
}

/// <summary>A syntax or meaning error at a position: "line 1, column 34: expected a number after 'at least', found 'two'".</summary>
internal sealed class SegmentSyntaxException(int line, int column, string problem)
    : Exception($"line {line}, column {column}: {problem}")
{
    public int Line { get; } = line;
    public int Column { get; } = column;
    public string Problem { get; } = problem;

    /// <summary>
    /// The position at the start of a definition problem ("line 2, column 7: ..."; every parse and reference problem
    /// starts so, optionally after "Where: "), for the problem document's line and column; null when there is none.
    /// </summary>
    public static (int Line, int Column)? PositionOf(string problem)
    {
        var text = problem.AsSpan();
        var colon = text.IndexOf(": line ", StringComparison.Ordinal);
        if (colon >= 0 && colon < 20) text = text[(colon + 2)..];
        if (!text.StartsWith("line ", StringComparison.Ordinal)) return null;
        text = text[5..];
        var comma = text.IndexOf(", column ", StringComparison.Ordinal);
        if (comma <= 0 || !int.TryParse(text[..comma], NumberStyles.None, CultureInfo.InvariantCulture, out var line)) return null;
        text = text[(comma + 9)..];
        var end = text.IndexOf(':');
        if (end <= 0 || !int.TryParse(text[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var column)) return null;
        return (line, column);
    }
}

/// <summary>Splits an expression into tokens, tracking line and column (tabs count as one column).</summary>
internal static class Tokenizer
{
    public static List<Token> Tokenize(string source)
    {
        var tokens = new List<Token>();
        int i = 0, line = 1, lineStart = 0;
        while (true)
        {
            while (i < source.Length && char.IsWhiteSpace(source[i]))
            {
                if (source[i] == '\n') { line++; lineStart = i + 1; }
                i++;
            }
            var column = i - lineStart + 1;
            if (i >= source.Length)
            {
                tokens.Add(new Token(TokenKind.End, "", line, column, i, i));
                return tokens;
            }
            var c = source[i];
            var start = i;
            if (c == '#') // comment to the end of the line
            {
                while (i < source.Length && source[i] != '\n') i++;
                continue;
            }
            if (c == '"')
            {
                var text = ReadString(source, ref i, line, column);
                tokens.Add(new Token(TokenKind.String, text, line, column, start, i));
                continue;
            }
            if (char.IsAsciiDigit(c) || (c == '-' && i + 1 < source.Length && char.IsAsciiDigit(source[i + 1])))
            {
                i++;
                while (i < source.Length && (char.IsAsciiDigit(source[i]) || source[i] == '.')) i++;
                var number = source[start..i];
                if (!double.TryParse(number, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
                    throw new SegmentSyntaxException(line, column, $"'{number}' is not a number");
                if (i < source.Length && char.IsAsciiLetter(source[i]))
                {
                    var unitStart = i;
                    while (i < source.Length && char.IsAsciiLetterOrDigit(source[i])) i++;
                    var unit = source[unitStart..i];
                    var days = unit switch { "d" => 1, "w" => 7, _ => 0 };
                    if (days == 0 || value != Math.Floor(value) || value < 0)
                        throw new SegmentSyntaxException(line, column, $"expected a duration in whole days or weeks such as 30d or 2w, found '{source[start..i]}'");
                    tokens.Add(new Token(TokenKind.Duration, source[start..i], line, column, start, i, value * days));
                    continue;
                }
                tokens.Add(new Token(TokenKind.Number, number, line, column, start, i, value));
                continue;
            }
            if (char.IsLetter(c) || c == '_' || c == '$')
            {
                while (i < source.Length && (char.IsLetterOrDigit(source[i]) || source[i] is '_' or '$' or '-')) i++;
                tokens.Add(new Token(TokenKind.Word, source[start..i], line, column, start, i));
                continue;
            }
            if (i + 1 < source.Length && IsTwoCharSymbol(source[i], source[i + 1]))
            {
                i += 2;
                tokens.Add(new Token(TokenKind.Symbol, source[start..i], line, column, start, i));
                continue;
            }
            if (c is '=' or '<' or '>' or '(' or ')' or '[' or ']' or ',' or '.')
            {
                i++;
                tokens.Add(new Token(TokenKind.Symbol, c.ToString(), line, column, start, i));
                continue;
            }
            throw new SegmentSyntaxException(line, column, $"unexpected character '{c}'");
        }
    }

    private static bool IsTwoCharSymbol(char a, char b) => (a, b) is ('!', '=') or ('<', '=') or ('>', '=') or ('=', '=');

    private static string ReadString(string source, ref int i, int line, int column)
    {
        var sb = new StringBuilder();
        i++; // opening quote
        while (true)
        {
            if (i >= source.Length || source[i] == '\n') throw new SegmentSyntaxException(line, column, "this string has no closing quote");
            var c = source[i++];
            if (c == '"') return sb.ToString();
            if (c != '\\') { sb.Append(c); continue; }
            if (i >= source.Length) throw new SegmentSyntaxException(line, column, "this string has no closing quote");
            var e = source[i++];
            switch (e)
            {
                case '"': sb.Append('"'); break;
                case '\\': sb.Append('\\'); break;
                case '/': sb.Append('/'); break;
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'u' when i + 4 <= source.Length && ushort.TryParse(source.AsSpan(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code):
                    sb.Append((char)code); i += 4; break;
                default: sb.Append('\\').Append(e); break; // kept as written, so regexes like "\d" read naturally
            }
        }
    }
}

using System.Buffers;

namespace Cdp.Modules.Matching.Engine;

/// <summary>How a field's raw value is normalised before it is compared, blocked on or counted.</summary>
internal enum FieldKind
{
    /// <summary>Lower case, trimmed, inner whitespace collapsed to one space.</summary>
    Text,

    /// <summary>Letters only, lower case: "Jac ob", "O'Neil", "Smith-Jones" lose their spaces and punctuation.</summary>
    Name,

    /// <summary>Letters and digits only, lower case (postcodes, ids): "SW1A 1AA" = "sw1a1aa".</summary>
    Code,

    /// <summary>Digits only (phone numbers, social security numbers).</summary>
    Digits,

    /// <summary>Trimmed, lower case.</summary>
    Email,

    /// <summary>yyyy-MM-dd, yyyyMMdd or yyyy/MM/dd (a time part is ignored), kept as "yyyyMMdd".</summary>
    Date,
}

internal static class FieldNormaliser
{
    public static bool TryParse(string? name, out FieldKind kind) =>
        Enum.TryParse(name, ignoreCase: true, out kind) && Enum.IsDefined(kind);

    /// <summary>The normalised value, or null when nothing is left (a missing value).</summary>
    public static string? Normalise(string? raw, FieldKind kind)
    {
        if (string.IsNullOrWhiteSpace(raw)) return null;
        var value = raw.AsSpan().Trim();
        if (kind == FieldKind.Date) return DateValue.Normalise(value);
        char[]? rented = null;
        var buffer = value.Length <= StackLimit ? stackalloc char[value.Length] : (rented = ArrayPool<char>.Shared.Rent(value.Length));
        try
        {
            var length = 0;
            var space = false;
            foreach (var c in value)
            {
                var keep = kind switch
                {
                    FieldKind.Name => char.IsLetter(c),
                    FieldKind.Code => char.IsLetterOrDigit(c),
                    FieldKind.Digits => char.IsAsciiDigit(c),
                    FieldKind.Text => !char.IsWhiteSpace(c),
                    _ => true, // Email: trimmed and lower-cased only
                };
                if (!keep)
                {
                    space = kind == FieldKind.Text;
                    continue;
                }
                if (space && length > 0) buffer[length++] = ' '; // Text: inner whitespace collapsed to one space
                space = false;
                buffer[length++] = char.ToLowerInvariant(c);
            }
            return length == 0 ? null : new string(buffer[..length]);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>Longer raw values use a pooled buffer.</summary>
    private const int StackLimit = 256;
}

/// <summary>
/// A date as the integer yyyyMMdd (kept even when it is not a calendar date, as data-entry errors are)
/// and its day number when it is one.
/// </summary>
internal static class DateValue
{
    public const int NoDayNumber = int.MinValue;

    /// <summary>"yyyyMMdd" from yyyy-MM-dd, yyyy/MM/dd, yyyy.MM.dd or yyyyMMdd (anything after the date is ignored); null otherwise.</summary>
    public static string? Normalise(ReadOnlySpan<char> value)
    {
        Span<char> digits = stackalloc char[8];
        if (value.Length >= 10 && value[4] is '-' or '/' or '.' && value[7] == value[4])
        {
            value[..4].CopyTo(digits);
            value[5..7].CopyTo(digits[4..]);
            value[8..10].CopyTo(digits[6..]);
            if (value.Length > 10 && char.IsAsciiDigit(value[10])) return null;
        }
        else if (value.Length == 8)
        {
            value.CopyTo(digits);
        }
        else
        {
            return null;
        }
        foreach (var c in digits)
            if (!char.IsAsciiDigit(c)) return null;
        return new string(digits);
    }

    /// <summary>yyyyMMdd as an integer, from a normalised value.</summary>
    public static int Code(ReadOnlySpan<char> normalised) => int.Parse(normalised, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Days since 0001-01-01, or <see cref="NoDayNumber"/> when the code is not a calendar date.</summary>
    public static int DayNumber(int code)
    {
        var (y, m, d) = (code / 10000, code / 100 % 100, code % 100);
        if (y < 1 || m < 1 || m > 12 || d < 1 || d > DateTime.DaysInMonth(y, m)) return NoDayNumber;
        return new DateOnly(y, m, d).DayNumber;
    }

    /// <summary>True when both codes are calendar dates at most <paramref name="days"/> apart, or (if asked) day and month are swapped.</summary>
    public static bool WithinTolerance(int codeA, int dayA, int codeB, int dayB, int days, bool dayMonthSwap)
    {
        if (days > 0 && dayA != NoDayNumber && dayB != NoDayNumber && Math.Abs(dayA - dayB) <= days) return true;
        if (!dayMonthSwap) return false;
        var (ya, ma, da) = (codeA / 10000, codeA / 100 % 100, codeA % 100);
        var (yb, mb, db) = (codeB / 10000, codeB / 100 % 100, codeB % 100);
        return ya == yb && ma == db && da == mb;
    }
}

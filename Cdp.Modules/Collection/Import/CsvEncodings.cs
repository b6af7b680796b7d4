using System.Text;
using Cdp.Modules.Collection.Contracts;

namespace Cdp.Modules.Collection.Import;

/// <summary>The character encoding of an imported file, by name (--encoding on the CLI, encoding= on the API).</summary>
internal static class CsvEncodings
{
    static CsvEncodings()
    {
        // windows-125x, shift_jis and the other code pages ship with .NET but must be registered before use
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
    }

    /// <summary>
    /// The encoding the reader transcodes from: null for UTF-8 (the reader's own path, which honours a byte order mark
    /// and which the importer checks for invalid sequences), otherwise the named encoding.
    /// </summary>
    public static Encoding? Resolve(string? name)
    {
        var key = (name ?? "").Trim().ToLowerInvariant();
        switch (key)
        {
            case "" or "utf-8" or "utf8": return null;
            case "latin1" or "latin-1" or "iso-8859-1" or "iso8859-1": return Encoding.Latin1;
            case "utf-16" or "utf16" or "utf-16le" or "unicode": return Encoding.Unicode;
            case "utf-16be": return Encoding.BigEndianUnicode;
        }
        try
        {
            var encoding = Encoding.GetEncoding(key);
            return encoding.CodePage == Encoding.UTF8.CodePage ? null : encoding;
        }
        catch (ArgumentException)
        {
            throw new CsvImportRejectedException(
                $"unknown encoding '{name}': use utf-8 (the default), latin1 (iso-8859-1), windows-1252, utf-16, or another encoding name such as windows-1250");
        }
    }

    /// <summary>The name errors use for an encoding resolved by <see cref="Resolve"/>.</summary>
    public static string NameOf(Encoding? encoding) => encoding?.WebName ?? "utf-8";
}

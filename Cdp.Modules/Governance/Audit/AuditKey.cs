using System.Security.Cryptography;
using System.Text;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Audit;

/// <summary>
/// The installation's secret for the audit log's keyed hashes: 32 random bytes (64 hex digits) in <c>cdp.db.audit-key</c>
/// beside the database file, created 0600 on first start, never inside cdp.db nor in a backup. A searched value or an
/// identifier is stored as HMAC-SHA256(key, value) cut to 128 bits: whoever holds the key (an auditor, through
/// POST /api/audit/hash) can check a known value; whoever holds only the database cannot try a dictionary against it.
/// </summary>
[Service]
internal sealed class AuditKey
{
    public const string FileSuffix = ".audit-key";

    /// <summary>256 bits, the size of HMAC-SHA256's block-sized key sweet spot and of its output.</summary>
    public const int KeyBytes = 32;

    /// <summary>Hex digits kept of the HMAC: 128 bits, out of reach of collisions and of guessing alike.</summary>
    public const int HashHexDigits = 32;

    private readonly byte[] _key;

    public AuditKey(IOptions<StorageOptions> storage)
    {
        FilePath = System.IO.Path.GetFullPath(storage.Value.Path) + FileSuffix;
        _key = LoadOrCreate(FilePath);
    }

    public string FilePath { get; }

    /// <summary>"#" and 32 hex digits of HMAC-SHA256(key, the value trimmed, NFC, lower case).</summary>
    public string Hash(string value)
    {
        var normalised = value.Trim().Normalize(NormalizationForm.FormC).ToLowerInvariant();
        return "#" + Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(normalised)))[..HashHexDigits];
    }

    /// <summary>
    /// What a record written before keyed hashes (an unkeyed SHA-256 cut to 16 hex digits, rewritten at the upgrade as the
    /// keyed hash of that text) holds for <paramref name="value"/>, spelt exactly as it was sent.
    /// </summary>
    public string LegacyHash(string value) =>
        Hash("#" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..16]);

    private static byte[] LoadOrCreate(string path)
    {
        PrivateFiles.CreateFolder(System.IO.Path.GetDirectoryName(path) ?? ".");
        if (!File.Exists(path))
        {
            var key = RandomNumberGenerator.GetBytes(KeyBytes);
            try
            {
                using var file = new FileStream(path, PrivateFiles.Create(FileMode.CreateNew));
                file.Write(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(key) + "\n"));
                file.Flush(flushToDisk: true);
                return key;
            }
            catch (IOException) when (File.Exists(path))
            {
                // another start created it meanwhile: read that one
            }
        }
        var text = File.ReadAllText(path).Trim();
        try
        {
            var key = Convert.FromHexString(text);
            if (key.Length == KeyBytes) return key;
        }
        catch (FormatException)
        {
            // reported below
        }
        throw new InvalidOperationException(
            $"{path} is not a Cdp audit key ({KeyBytes * 2} hex digits). Restore it from your copy; or, accepting that the hashes already in the audit log can no longer be checked, delete it and a new key is made at the next start.");
    }
}

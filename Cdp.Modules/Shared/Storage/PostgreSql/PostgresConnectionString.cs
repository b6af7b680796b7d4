using Npgsql;

namespace Cdp.Modules.Shared.Storage.PostgreSql;

/// <summary>
/// <c>Cdp:Storage:ConnectionString</c>: checked at start (a message that names the key, never the value) and shown in logs
/// and CLI output only with its secrets replaced.
/// </summary>
public static class PostgresConnectionString
{
    public const string Key = StorageOptions.Section + ":ConnectionString";

    /// <summary>What a log shows in place of a secret.</summary>
    public const string Hidden = "***";

    /// <summary>Npgsql's keys whose values are secrets (the canonical names NpgsqlConnectionStringBuilder keeps).</summary>
    private static readonly string[] SecretKeys = ["Password", "SSL Password"];

    /// <summary>Why the connection string cannot be used (phrased to follow the key's name), or null when it can.</summary>
    public static string? Problem(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
            return "is required when Cdp:Storage:Provider is PostgreSql, e.g. Host=db.internal;Database=cdp;Username=cdp;Password=...";
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // Npgsql's message may quote a piece of the string (a password with a stray ';' becomes an unknown key): not repeated
            return "does not parse as an Npgsql connection string (Key=Value pairs separated by ';', e.g. Host=db.internal;Database=cdp;Username=cdp;Password=...)";
        }
        if (string.IsNullOrWhiteSpace(builder.Host))
            return "must name the server with Host= (a host name, an address, or the folder of a unix socket)";
        return null;
    }

    /// <summary>The connection string with its password(s) replaced by <see cref="Hidden"/>, for logs and messages.</summary>
    public static string Redact(string? connectionString)
    {
        if (string.IsNullOrEmpty(connectionString)) return "";
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            foreach (var key in SecretKeys)
                if (builder.TryGetValue(key, out var value) && value is string { Length: > 0 }) builder[key] = Hidden;
            return builder.ConnectionString;
        }
        catch (Exception)
        {
            return "(a connection string that does not parse)"; // no piece of it: it may hold a password
        }
    }
}

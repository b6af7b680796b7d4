using Cdp.Modules.Shared.Storage.PostgreSql;
using FluentValidation;

namespace Cdp.Modules.Shared.Storage;

/// <summary>The values of <c>Cdp:Storage:Provider</c> (read case-insensitively).</summary>
public static class StorageProviders
{
    /// <summary>One LiteDB file on the host's disk: the default, and the only provider the server runs on in this version.</summary>
    public const string LiteDb = "LiteDb";

    /// <summary>A PostgreSQL database (<c>Cdp:Storage:ConnectionString</c>): a preview; the schema and the event log exist on it.</summary>
    public const string PostgreSql = "PostgreSql";

    public static bool IsLiteDb(string? provider) => string.Equals(provider, LiteDb, StringComparison.OrdinalIgnoreCase);

    public static bool IsPostgreSql(string? provider) => string.Equals(provider, PostgreSql, StringComparison.OrdinalIgnoreCase);
}

/// <summary>appsettings section <c>Cdp:Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string Section = "Cdp:Storage";

    /// <summary>
    /// Where Cdp keeps its data: <see cref="StorageProviders.LiteDb"/> (the default, the file at <see cref="Path"/>) or
    /// <see cref="StorageProviders.PostgreSql"/> (the database at <see cref="ConnectionString"/>), case-insensitive.
    /// </summary>
    public string Provider { get; set; } = StorageProviders.LiteDb;

    /// <summary>
    /// The PostgreSQL database when <see cref="Provider"/> is PostgreSql, in Npgsql's form
    /// (<c>Host=db.internal;Database=cdp;Username=cdp;Password=...</c>). It carries a password: never log it, log
    /// <see cref="PostgresConnectionString.Redact"/> of it.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>True when <see cref="Provider"/> names PostgreSQL (get-only: the binder and the settings reference skip it).</summary>
    public bool UsesPostgreSql => StorageProviders.IsPostgreSql(Provider);

    /// <summary>The LiteDB data file. Its directory is created when missing.</summary>
    public string Path { get; set; } = "./data/cdp.db";

    /// <summary>
    /// fsync LiteDB's log file after every commit, so a power loss cannot lose an acknowledged event.
    /// A process crash is safe either way (the log is written with write(2) before the ack).
    /// </summary>
    public bool DurableCommits { get; set; }

    /// <summary>LiteDB's automatic checkpoint, in 8 KB pages of the -log.db file (LiteDB's default is 1000).</summary>
    public int CheckpointPages { get; set; } = 1000;

    /// <summary>
    /// Ingest answers 503 while the disk of the database has less free space than this (checked once a second), leaving
    /// the rest to processing, checkpoints and jobs; 0 turns the check off. 256 MB by default.
    /// </summary>
    public long MinFreeBytes { get; set; } = 256L * 1024 * 1024;
}

public sealed class StorageOptionsValidator : AbstractValidator<StorageOptions>
{
    public StorageOptionsValidator()
    {
        RuleFor(o => o.Provider).Must(p => StorageProviders.IsLiteDb(p) || StorageProviders.IsPostgreSql(p))
            .WithMessage($"must be {StorageProviders.LiteDb} (the default) or {StorageProviders.PostgreSql}, was '{{PropertyValue}}'");
        When(o => o.UsesPostgreSql, () =>
            RuleFor(o => o.ConnectionString).Custom((connectionString, context) =>
            {
                // the value itself is never echoed: it may hold a password
                if (PostgresConnectionString.Problem(connectionString) is { } problem) context.AddFailure(nameof(StorageOptions.ConnectionString), problem);
            }));
        RuleFor(o => o.Path).NotEmpty().WithMessage("must name the database file, e.g. ./data/cdp.db");
        RuleFor(o => o.CheckpointPages).InclusiveBetween(0, 1_000_000);
        RuleFor(o => o.MinFreeBytes).GreaterThanOrEqualTo(0).WithMessage("must be 0 (no check) or a number of bytes, e.g. 268435456 for 256 MB");
    }
}

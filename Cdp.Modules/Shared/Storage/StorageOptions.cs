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

/// <summary>The values of <c>Cdp:Storage:Hosts</c> (read case-insensitively).</summary>
public static class StorageHosts
{
    public const string One = "One";
    public const string Several = "Several";
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

    /// <summary>
    /// <c>One</c> (the default): one Cdp process per database, a second one is refused. <c>Several</c> (PostgreSQL only, a
    /// preview of issue #28): several Cdp servers share the database; each accepts the Tracking and admin APIs, one at a time
    /// runs the profile processor (the others take over within seconds when it dies), and the CLI verbs still need every
    /// server stopped. README, "Several hosts", says what is not shared yet.
    /// </summary>
    public string Hosts { get; set; } = StorageHosts.One;

    /// <summary>True when <see cref="Hosts"/> is Several.</summary>
    public bool SeveralHosts => string.Equals(Hosts, StorageHosts.Several, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// With <see cref="Hosts"/> = Several: the base URL at which the other hosts reach this host's HTTP API (e.g.
    /// <c>http://10.0.0.11:5000</c>). A follower forwards the commands that run on the processor's thread (pause, erasures,
    /// unmerges, ...) to the leading host's URL and relays its answer. Empty (the default): such commands answer 503 on a
    /// follower, naming the leader.
    /// </summary>
    public string? HostUrl { get; set; }

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
        RuleFor(o => o.HostUrl).Must(u => string.IsNullOrEmpty(u)
                || (Uri.TryCreate(u, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Query.Length == 0))
            .WithMessage("must be empty or this host's base URL as the other hosts reach it, e.g. http://10.0.0.11:5000, was '{PropertyValue}'");
        RuleFor(o => o.Hosts).Must(h => string.Equals(h, StorageHosts.One, StringComparison.OrdinalIgnoreCase) || string.Equals(h, StorageHosts.Several, StringComparison.OrdinalIgnoreCase))
            .WithMessage($"must be {StorageHosts.One} (the default) or {StorageHosts.Several}, was '{{PropertyValue}}'");
        RuleFor(o => o.Hosts).Must((o, _) => !o.SeveralHosts || o.UsesPostgreSql)
            .WithMessage($"is {StorageHosts.Several}, but several hosts share a database only on {StorageProviders.PostgreSql} (Cdp:Storage:Provider): a LiteDB file belongs to one process");
        RuleFor(o => o.Path).NotEmpty().WithMessage("must name the database file, e.g. ./data/cdp.db");
        RuleFor(o => o.CheckpointPages).InclusiveBetween(0, 1_000_000);
        RuleFor(o => o.MinFreeBytes).GreaterThanOrEqualTo(0).WithMessage("must be 0 (no check) or a number of bytes, e.g. 268435456 for 256 MB");
    }
}

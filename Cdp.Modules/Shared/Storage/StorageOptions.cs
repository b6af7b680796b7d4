using FluentValidation;

namespace Cdp.Modules.Shared.Storage;

/// <summary>appsettings section <c>Cdp:Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string Section = "Cdp:Storage";

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
        RuleFor(o => o.Path).NotEmpty().WithMessage("must name the database file, e.g. ./data/cdp.db");
        RuleFor(o => o.CheckpointPages).InclusiveBetween(0, 1_000_000);
        RuleFor(o => o.MinFreeBytes).GreaterThanOrEqualTo(0).WithMessage("must be 0 (no check) or a number of bytes, e.g. 268435456 for 256 MB");
    }
}

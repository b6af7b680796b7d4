using FluentValidation;

namespace Cdp.Modules.Governance.Operations;

/// <summary>
/// appsettings <c>Cdp:Storage:BackupRoot</c>: the one folder under which <c>POST /api/admin/backup</c> may write. A backup is
/// a full copy of everyone's data: an admin key must not be able to drop one anywhere the process can write.
/// </summary>
internal sealed class BackupOptions
{
    public const string Section = "Cdp:Storage";

    public const string DefaultFolderName = "backups";

    /// <summary>Empty: a <c>backups</c> folder beside cdp.db.</summary>
    public string BackupRoot { get; set; } = "";

    /// <summary>The root as a full path: <see cref="BackupRoot"/>, or <c>backups</c> in the folder of <paramref name="databaseFile"/>.</summary>
    public string RootFor(string databaseFile) =>
        string.IsNullOrWhiteSpace(BackupRoot)
            ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(databaseFile)) ?? ".", DefaultFolderName)
            : Path.GetFullPath(BackupRoot, Path.GetDirectoryName(Path.GetFullPath(databaseFile)) ?? ".");
}

internal sealed class BackupOptionsValidator : AbstractValidator<BackupOptions>
{
    public BackupOptionsValidator()
    {
        RuleFor(o => o.BackupRoot)
            .Must(r => string.IsNullOrEmpty(r) || (r.IndexOfAny(Path.GetInvalidPathChars()) < 0 && !r.Contains('\0', StringComparison.Ordinal)))
            .WithMessage("must be a folder path (empty: a 'backups' folder beside the database file)");
    }
}

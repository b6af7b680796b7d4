namespace Cdp.Modules.Activation.Contracts;

/// <summary>
/// The configured syncs (Cdp:Syncs) and their runs: what the admin API and the `syncs` CLI verbs use.
/// A sync never runs twice at once: a run asked for while one is going is refused (<see cref="SyncBusyException"/>).
/// </summary>
public interface ISyncOperations
{
    IReadOnlyList<SyncSummary> List();

    SyncSummary? Find(string sync);

    /// <summary>The latest runs of a sync, newest first.</summary>
    IReadOnlyList<SyncRunReport> Runs(string sync, int limit);

    SyncRunReport? Run(long runId);

    /// <summary>Runs the sync now on the calling task. Throws KeyNotFoundException for an unknown sync.</summary>
    Task<SyncRunReport> RunAsync(string sync, SyncRunRequest request, CancellationToken cancellationToken);
}

/// <param name="Trigger">schedule, manual, api, cli...</param>
/// <param name="DryRun">Compute the diff and the first payload, send nothing, change no state.</param>
/// <param name="FullResync">Send every eligible member again (upserts), whatever the member state says.</param>
/// <param name="AllowMassRemoval">Let this run remove more than the sync's MaxRemovalShare.</param>
public sealed record SyncRunRequest(string Trigger, bool DryRun = false, bool FullResync = false, bool AllowMassRemoval = false);

public sealed record SyncSummary(
    string Name, string Segment, string Destination, string DestinationType, string Mode, bool Enabled, string? Cron, string TimeZone,
    DateTime? NextRun, DateTime? LastRunAt, string? LastRunStatus, long? LastRunId, long Members, long Rejected);

public static class SyncRunStatus
{
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Partial = "partial";
    public const string Failed = "failed";
    public const string DryRun = "dry run";
}

public sealed record SyncRunReport(
    long Id, string Sync, string Trigger, string Status, bool Full, DateTime StartedAt, DateTime? FinishedAt, double DurationSeconds,
    SyncCounts Counts, string? StoppedBecause, IReadOnlyList<string> Errors, IReadOnlyList<SyncSampleRow> Samples, string? FirstPayload);

/// <summary>
/// Members: in the segment now. Eligible: of those, with consent and an identifier. Added/Updated/Removed/Retried: planned
/// (dry run) or acknowledged by the destination. Rejected: rows the destination refused (retried next run).
/// Removed counts list removals of members who left; Unsubscribed counts members who opted out (revoked consent, suppression)
/// and were unsubscribed at the vendor (taken off the list as well, but not counted in Removed).
/// </summary>
public sealed record SyncCounts(
    long Members, long Eligible, long Added, long Updated, long Removed, long Retried, long Unchanged, long Rejected,
    long SkippedNoConsent, long SkippedNoIdentifier, long SkippedDuplicateIdentifier, long Batches, long Unsubscribed = 0);

public sealed record SyncSampleRow(string Action, string ProfileId, string Identifier, IReadOnlyDictionary<string, string?> Fields);

/// <summary>The sync is running already (no overlapping runs of one sync).</summary>
public sealed class SyncBusyException(string sync) : Exception($"sync '{sync}' is running already; runs of one sync never overlap");

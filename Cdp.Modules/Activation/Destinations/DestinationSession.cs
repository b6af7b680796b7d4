using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>One run's connection to a destination. Every call is an upsert or a set operation, so a replay is harmless.</summary>
internal interface IDestinationSession : IAsyncDisposable
{
    int UpsertBatchSize { get; }

    int RemoveBatchSize { get; }

    /// <summary>The destination acknowledges only at <see cref="CompleteAsync"/> (a file is complete once renamed/uploaded).</summary>
    bool AcknowledgesAtCompletion { get; }

    /// <summary>Every current member is written each run (a CSV snapshot), not only the changes.</summary>
    bool WantsEveryMember { get; }

    /// <summary>One-off set-up of a run (e.g. find or create the Mailchimp static segment the sync owns).</summary>
    Task PrepareAsync(CancellationToken cancellationToken);

    /// <summary>Adds or updates the members (and puts them in the sync's list/segment). Returns the rows refused, by key.</summary>
    Task<IReadOnlyDictionary<string, string>> UpsertAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken);

    /// <summary>Takes the members out of the sync's list/segment (per the exit policy). Returns the rows refused, by key.</summary>
    Task<IReadOnlyDictionary<string, string>> RemoveAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken);

    Task CompleteAsync(CancellationToken cancellationToken);
}

/// <summary>What a destination would be sent, without sending it (dry runs).</summary>
internal interface IPayloadPreview
{
    string Preview(IReadOnlyList<OutgoingMember> upserts);
}

/// <summary>Everything a destination needs about the run it serves.</summary>
internal sealed record SyncTarget(string Sync, SyncSettings Settings, string DestinationName, DestinationSettings Destination, long RunId);

/// <summary>The run cannot go on (credentials refused, destination still failing after its retries): stop, keep what was acknowledged.</summary>
internal sealed class DestinationUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The destination refused a whole batch for good (a 4xx other than auth and rate limits): its rows are rejected, the run goes on.</summary>
internal sealed class BatchRefusedException(string message) : Exception(message);

internal static class Refusals
{
    public static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();

    public static IReadOnlyDictionary<string, string> All(IEnumerable<OutgoingMember> members, string reason) =>
        members.GroupBy(m => m.Key).ToDictionary(g => g.Key, _ => reason, StringComparer.Ordinal);
}

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

    /// <summary>A batch the vendor refused whole is split in halves and sent again until the bad rows are alone (email platforms).</summary>
    bool IsolatesRefusedRows => false;

    /// <summary>What the session did on its own that run history must say (e.g. a cached vendor id found gone and recreated); emptied by the call.</summary>
    IReadOnlyList<string> TakeNotes() => [];
}

/// <summary>What a destination would be sent, without sending it (dry runs).</summary>
internal interface IPayloadPreview
{
    string Preview(IReadOnlyList<OutgoingMember> upserts);
}

/// <summary>Everything a destination needs about the run it serves.</summary>
internal sealed record SyncTarget(string Sync, SyncSettings Settings, string DestinationName, DestinationSettings Destination, long RunId)
{
    /// <summary>A full resync (every current member is sent): destinations that can replace their list do so (Google: removeAll first).</summary>
    public bool Full { get; init; }
}

/// <summary>The run cannot go on (credentials refused, destination still failing after its retries): stop, keep what was acknowledged.</summary>
/// <param name="retryNotBefore">The vendor asked not to be called again before this time (a Retry-After beyond MaxRetryDelay).</param>
internal sealed class DestinationUnavailableException(string message, Exception? inner = null, DateTimeOffset? retryNotBefore = null) : Exception(message, inner)
{
    public DateTimeOffset? RetryNotBefore { get; } = retryNotBefore;
}

/// <summary>The destination refused a whole batch for good (a 4xx other than auth and rate limits): its rows are rejected, the run goes on.</summary>
/// <summary>The vendor refused the request (a 4xx other than 401/403/408/429); <see cref="Status"/> is its HTTP status.</summary>
internal sealed class BatchRefusedException(string message, int status) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>The vendor has no such thing (404): for a deletion, already gone; for a cached id, look it up again.</summary>
    public bool NotFound => Status == 404;
}

internal static class Refusals
{
    public static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();

    /// <summary>The vendor refused the whole batch (one reason for every row): the engine may isolate the bad rows.</summary>
    public static IReadOnlyDictionary<string, string> All(IEnumerable<OutgoingMember> members, string reason)
    {
        var all = new WholeBatchRefusal();
        foreach (var m in members) all[m.Key] = reason;
        return all;
    }
}

/// <summary>Every row of a batch refused for one reason, not row by row.</summary>
internal sealed class WholeBatchRefusal() : Dictionary<string, string>(StringComparer.Ordinal);

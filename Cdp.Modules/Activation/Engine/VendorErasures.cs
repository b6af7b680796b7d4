using System.Globalization;
using System.Text.Json.Nodes;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Destinations;
using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Activation.Engine;

/// <summary>
/// The erasure of a deleted person at every destination they were ever synced to (activation_erasures, _id = the deletion's
/// receipt id, one entry per destination). Staged inside the deletion's transaction, then worked by a background job
/// (<see cref="VendorErasureJob"/>) right after it commits and by the "activation-vendor-erasures" sweep every few minutes
/// until every destination acknowledged (at least once: each call is idempotent, a vendor 404 means already gone).
/// An entry keeps the person's addresses and profile ids ONLY while its calls are owed: they are removed from the entry in
/// the same write that records its completion; what stays is the destination, the outcome, the attempts and when.
/// </summary>
[Service]
internal sealed class VendorErasures(
    IActivationStore store,
    IOptions<ActivationOptions> options,
    VendorPrivacyCalls calls,
    Redactor redactor,
    TimeProvider clock,
    ILogger<VendorErasures> log)
{
    /// <summary>Backoff between attempts at one destination: doubling from 1 minute, at most 1 hour (the sweep runs every 5 minutes).</summary>
    public static readonly TimeSpan FirstRetry = TimeSpan.FromMinutes(1), MaxRetry = TimeSpan.FromHours(1);

    public const string Pending = "pending", OutsideReach = "outside Cdp's reach", Rewritten = "rewritten";

    /// <summary>One pass at a time in this process: the job of a new deletion and the sweep never call a vendor twice at once.</summary>
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>
    /// Inside the deletion's transaction: one entry per destination of the syncs the person's addresses were sent by.
    /// Returns the destinations staged (0: nothing owed, no document written).
    /// </summary>
    public int Stage(IUnitOfWork tx, string receiptId, IEnumerable<(string Sync, string Key)> sent, IReadOnlyCollection<string> profileIds, DateTime at)
    {
        var byDestination = sent
            .Where(s => options.Value.Syncs.ContainsKey(s.Sync))
            .GroupBy(s => options.Value.Syncs[s.Sync].Destination, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        if (byDestination.Count == 0) return 0;
        var entries = byDestination.Select(g => new ErasureEntry
        {
            Destination = g.Key, Type = options.Value.Destinations.GetValueOrDefault(g.Key)?.Kind?.ToString() ?? "?", Next = at,
            Syncs = g.Select(s => s.Sync).Distinct(StringComparer.Ordinal).ToList(),
            Keys = g.Select(s => s.Key).Distinct(StringComparer.Ordinal).ToList(),
            Profiles = profileIds.ToList(),
        }).ToList();
        store.StageErasure(tx, new ErasureReceipt(receiptId, at, entries));
        return entries.Count;
    }

    /// <summary>Receipts with a destination still owed (the sweep's work list).</summary>
    public IReadOnlyList<string> Open() => store.OpenErasures();

    /// <summary>What the receipt shows: each destination's outcome, attempts, last error and completion time; no address.</summary>
    public JsonNode? Status(string receiptId)
    {
        if (store.Erasure(receiptId) is not { } receipt) return null;
        var list = new JsonArray();
        foreach (var e in receipt.Destinations)
        {
            var item = new JsonObject
            {
                ["destination"] = e.Destination, ["type"] = e.Type, ["status"] = e.Status, ["attempts"] = e.Attempts, ["completedAt"] = e.Done,
            };
            if (e.Detail is not null) item["detail"] = e.Detail;
            if (e.Done is null) item["nextAttemptAt"] = e.Next;
            if (e.Error is not null) item["lastError"] = e.Error;
            if (e.Files is not null) item["filesRewritten"] = new JsonArray(e.Files.Select(f => (JsonNode?)f).ToArray());
            if (e.Remote is { } r)
                item["remoteCopies"] = new JsonObject
                {
                    ["status"] = OutsideReach, ["host"] = r.Host, ["folder"] = r.Folder,
                    ["files"] = new JsonArray(r.Files.Select(f => (JsonNode?)f).ToArray()),
                    ["note"] = "copies uploaded by SFTP before the deletion: Cdp cannot change them; delete the person there by hand",
                };
            list.Add(item);
        }
        return new JsonObject { ["complete"] = !receipt.Open, ["destinations"] = list };
    }

    /// <summary>One pass over a receipt's destinations still owed. <paramref name="dueOnly"/>: skip those whose backoff has not passed.</summary>
    public async Task<bool> RunAsync(string receiptId, bool dueOnly, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (store.Erasure(receiptId) is not { } receipt) return true;
            foreach (var e in receipt.Destinations)
            {
                if (e.Done is not null) continue;
                var now = clock.GetUtcNow().UtcDateTime;
                if (dueOnly && e.Next > now) continue;
                await AttemptAsync(e, cancellationToken);
                store.SaveErasure(receipt); // each outcome is kept as soon as it is known
            }
            return !receipt.Open;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The sweep: every receipt with a destination whose next attempt is due.</summary>
    public async Task RunDueAsync(CancellationToken cancellationToken)
    {
        foreach (var receipt in Open()) await RunAsync(receipt, dueOnly: true, cancellationToken);
    }

    private async Task AttemptAsync(ErasureEntry e, CancellationToken cancellationToken)
    {
        var name = e.Destination;
        var keys = e.Keys.ToList();
        var profiles = e.Profiles.ToList();
        var attempt = ++e.Attempts;
        var now = clock.GetUtcNow().UtcDateTime;
        if (options.Value.Destinations.GetValueOrDefault(name) is not { } d)
        {
            Complete(e, OutsideReach, "the destination is no longer configured (Cdp:Destinations): erase the person there by hand", now);
            return;
        }
        try
        {
            if (d.Kind == DestinationType.CsvFile)
            {
                var files = CsvErasure.Rewrite(d, e.Syncs, keys, profiles);
                e.Files = files.ToList();
                if (d.Sftp is { } sftp && files.Count > 0) e.Remote = new RemoteCopies(sftp.Host, sftp.RemoteFolder, files.ToList());
                Complete(e, Rewritten, string.Create(CultureInfo.InvariantCulture, $"{files.Count} local file(s) rewritten without the person"), now);
                return;
            }
            var outcome = await calls.EraseAsync(name, d, keys, profiles, cancellationToken);
            Complete(e, outcome.Status, outcome.Detail, now);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var wait = TimeSpan.FromTicks(Math.Min(MaxRetry.Ticks, FirstRetry.Ticks << Math.Min(attempt - 1, 20)));
            e.Error = Blank(redactor.Redact(ex.Message), keys, profiles);
            e.Next = now + wait;
            log.LogWarning("Erasure at destination {Destination}: attempt {Attempt} failed, retried after {Wait}: {Error}", name, attempt, wait, e.Error);
        }
    }

    /// <summary>The outcome is recorded and the person's addresses and profile ids leave the entry in the same write.</summary>
    private static void Complete(ErasureEntry e, string status, string detail, DateTime at)
    {
        e.Status = status;
        e.Detail = detail;
        e.Done = at;
        e.Keys = [];
        e.Profiles = [];
        e.Error = null;
    }

    private static string Blank(string text, IEnumerable<string> keys, IEnumerable<string> profiles)
    {
        foreach (var v in keys.Concat(profiles).Where(v => v.Length >= 3))
            text = text.Replace(v, SyncEngine.ErasedPerson, StringComparison.OrdinalIgnoreCase);
        return text;
    }

    /// <summary>Hands a new erasure to the job server (after its transaction committed); the sweep covers a lost hand-over.</summary>
    public static void Enqueue(IServiceProvider services, string receiptId, ILogger log)
    {
        try
        {
            services.GetService<IBackgroundJobs>()?.Enqueue<VendorErasureJob>(j => j.RunAsync(receiptId, CancellationToken.None));
        }
        catch (Exception ex)
        {
            log.LogWarning(ex, "Could not enqueue the vendor erasure of {Receipt}; the sweep will run it", receiptId);
        }
    }
}

/// <summary>The background job of one deletion: one pass now; what is not acknowledged is retried by the sweep.</summary>
[Service]
internal sealed class VendorErasureJob(VendorErasures erasures)
{
    public Task RunAsync(string receiptId, CancellationToken cancellationToken) => erasures.RunAsync(receiptId, dueOnly: false, cancellationToken);
}

/// <summary>
/// "activation-vendor-erasures": every 5 minutes, the destinations still owed an erasure whose backoff has passed. Only
/// scheduled when destinations are configured.
/// </summary>
[Service]
internal sealed class VendorErasureSweep(IOptions<ActivationOptions> options, VendorErasures erasures) : IRecurringJobSource, IRecurringJobKind
{
    public const string KindName = "activation-vendor-erasures";

    /// <summary>Every 5 minutes: short against the 1-minute first backoff, cheap when nothing is owed (one collection scan).</summary>
    public const string Cron = "*/5 * * * *";

    public string Name => KindName;

    public IReadOnlyList<RecurringJobDefinition> RecurringJobs() => options.Value.Destinations.Count == 0
        ? []
        : [new RecurringJobDefinition(KindName, KindName, Cron, "UTC", new Dictionary<string, string>(), "Cdp:Destinations")];

    public Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken) => erasures.RunDueAsync(cancellationToken);
}

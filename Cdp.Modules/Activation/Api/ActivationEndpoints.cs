using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Activation.Api;

/// <summary>
/// /api/activation: syncs with next/last run, runs of a sync, run now, dry run, full resync; destinations (no secrets).
/// A run started here runs in the request (the answer is its report); a sync that is running already answers 409.
/// </summary>
internal static class ActivationEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/activation").WithTags("Activation");

        group.MapGet("/syncs", (ISyncOperations syncs) => TypedResults.Ok(syncs.List())).RequireReader().WithSummary("Every configured sync with its destination, schedule and last run");

        group.MapGet("/syncs/{name}", Results<Ok<SyncSummary>, NotFound<ProblemDetails>> (string name, ISyncOperations syncs) =>
            syncs.Find(name) is { } s ? TypedResults.Ok(s) : NoSync(name)).RequireReader().WithSummary("One sync");

        group.MapGet("/syncs/{name}/runs", Results<Ok<IReadOnlyList<SyncRunReport>>, NotFound<ProblemDetails>, BadRequest<ProblemDetails>> (string name, int? limit, ISyncOperations syncs) =>
        {
            if (limit is < 1 or > 200) return TypedResults.BadRequest(Problem(400, "limit: must be 1 to 200"));
            return syncs.Find(name) is null ? NoSync(name) : TypedResults.Ok(syncs.Runs(name, limit ?? 20));
        }).RequireReader().WithSummary("A sync's most recent runs, newest first");

        group.MapGet("/runs/{id:long}", Results<Ok<SyncRunReport>, NotFound<ProblemDetails>> (long id, ISyncOperations syncs) =>
            syncs.Run(id) is { } r ? TypedResults.Ok(r) : TypedResults.NotFound(Problem(404, $"no run {id}"))).RequireReader().WithSummary("One sync run: counts, errors, timing");

        group.MapPost("/syncs/{name}/run", (string name, bool? allowMassRemoval, ISyncOperations syncs, CancellationToken ct) =>
            StartAsync(syncs, name, new SyncRunRequest("api", AllowMassRemoval: allowMassRemoval ?? false), ct)).RequireAdmin()
            .WithSummary("Run a sync now (a delta: the changes since its last run)");

        group.MapPost("/syncs/{name}/dry-run", (string name, bool? full, ISyncOperations syncs, CancellationToken ct) =>
            StartAsync(syncs, name, new SyncRunRequest("api", DryRun: true, FullResync: full ?? false), ct)).RequireAdmin()
            .WithSummary("What a run would send, without sending it");

        group.MapPost("/syncs/{name}/full-resync", (string name, bool? allowMassRemoval, ISyncOperations syncs, CancellationToken ct) =>
            StartAsync(syncs, name, new SyncRunRequest("api", FullResync: true, AllowMassRemoval: allowMassRemoval ?? false), ct)).RequireAdmin()
            .WithSummary("Send the whole audience again (adds and removals) instead of a delta");

        group.MapGet("/destinations", (IOptions<ActivationOptions> options) => TypedResults.Ok(options.Value.Destinations
            .OrderBy(d => d.Key, StringComparer.Ordinal)
            .Select(d => new DestinationView(d.Key, d.Value.Kind?.ToString() ?? "?", d.Value.Kind == DestinationType.CsvFile ? null : d.Value.BaseUrl,
                d.Value.ListId.Length > 0 ? d.Value.ListId : null, d.Value.MaxConcurrency,
                options.Value.Syncs.Where(s => s.Value.Destination == d.Key).Select(s => s.Key).Order(StringComparer.Ordinal).ToList()))
            .ToList())).RequireReader().WithSummary("The configured destinations and the syncs that use each");
    }

    private static async Task<Results<Ok<SyncRunReport>, NotFound<ProblemDetails>, Conflict<ProblemDetails>>> StartAsync(
        ISyncOperations syncs, string name, SyncRunRequest request, CancellationToken ct)
    {
        if (syncs.Find(name) is null) return NoSync(name);
        try
        {
            return TypedResults.Ok(await syncs.RunAsync(name, request, ct));
        }
        catch (SyncBusyException ex)
        {
            return TypedResults.Conflict(Problem(409, ex.Message));
        }
    }

    private static NotFound<ProblemDetails> NoSync(string name) => TypedResults.NotFound(Problem(404, $"no sync '{name}' in {SyncSettings.Section}"));

    private static ProblemDetails Problem(int status, string detail) => new()
    {
        Status = status,
        Title = status switch { 400 => "Bad Request", 404 => "Not Found", 409 => "Conflict", _ => "Error" },
        Detail = detail,
    };

    internal sealed record DestinationView(string Name, string Type, string? BaseUrl, string? ListId, int MaxConcurrency, IReadOnlyList<string> Syncs);
}

using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Pipeline.Contracts;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Cdp.Modules.Pipeline.Api;

/// <summary>
/// The processor's commands, at the routes they always had: status, pause, resume and reprocess under /api/profiles,
/// unmerge under /api/identity (it replays events through the processor).
/// </summary>
internal static class ProcessorEndpoints
{
    public static void MapUnderProfiles(RouteGroupBuilder group)
    {
        group.MapGet("/processor", (IProfileProcessor p) => TypedResults.Ok(p.Status)).WithSummary("The processor's state: checkpoint, log head, rate, freshness, errors, paused");
        group.MapPost("/processor/pause", async (IProfileProcessor p, CancellationToken ct) => { await p.PauseAsync(ct); return TypedResults.Ok(p.Status); })
            .RequireAdmin().RunsOnLeader().WithSummary("Stop processing event batches (collection goes on); a restart resumes");
        group.MapPost("/processor/resume", async (IProfileProcessor p, CancellationToken ct) => { await p.ResumeAsync(ct); return TypedResults.Ok(p.Status); })
            .RequireAdmin().RunsOnLeader().WithSummary("Process event batches again from the checkpoint");
        group.MapPost("/reprocess", Reprocess).RequireAdmin().RunsOnLeader()
            .WithSummary("Clear the identity graph and the profiles and rebuild them from the event log (answers at once; watch /processor)");
    }

    public static void MapUnderIdentity(RouteGroupBuilder group) =>
        group.MapPost("/merges/{mergeId}/unmerge", Unmerge).RequireAdmin().RunsOnLeader()
            .WithSummary("Undo a merge: the profiles around it are recomputed from their events, as a reprocess would");

    private static async Task<Accepted<ReprocessStarted>> Reprocess(IProfileProcessor processor, IEventLog log, CancellationToken ct)
    {
        await processor.ReprocessAsync(ct);
        return TypedResults.Accepted("/api/profiles/processor", new ReprocessStarted("rebuilding", log.LastSequence));
    }

    private static async Task<Results<Ok<UnmergeResult>, NotFound>> Unmerge(string mergeId, IProfileProcessor processor, CancellationToken ct)
    {
        var result = await processor.UnmergeAsync(mergeId, ct);
        return result is null ? TypedResults.NotFound() : TypedResults.Ok(result);
    }
}

/// <summary>POST /api/profiles/reprocess: the rebuild started (<c>status</c> "rebuilding") over this many logged events.</summary>
internal sealed record ReprocessStarted(string Status, long Events);

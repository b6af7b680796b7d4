using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Pipeline.Contracts;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
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
        group.MapGet("/processor", (IProfileProcessor p) => TypedResults.Ok(p.Status));
        group.MapPost("/processor/pause", async (IProfileProcessor p, CancellationToken ct) => { await p.PauseAsync(ct); return TypedResults.Ok(p.Status); })
            .RequireAdmin().WithSummary("Stop processing event batches (collection goes on); a restart resumes");
        group.MapPost("/processor/resume", async (IProfileProcessor p, CancellationToken ct) => { await p.ResumeAsync(ct); return TypedResults.Ok(p.Status); })
            .RequireAdmin().WithSummary("Process event batches again from the checkpoint");
        group.MapPost("/reprocess", Reprocess).RequireAdmin();
    }

    public static void MapUnderIdentity(RouteGroupBuilder group) =>
        group.MapPost("/merges/{mergeId}/unmerge", Unmerge).RequireAdmin();

    private static async Task<IResult> Reprocess(IProfileProcessor processor, IEventLog log, CancellationToken ct)
    {
        await processor.ReprocessAsync(ct);
        return TypedResults.Accepted("/api/profiles/processor", new { status = "rebuilding", events = log.LastSequence });
    }

    private static async Task<IResult> Unmerge(string mergeId, IProfileProcessor processor, CancellationToken ct)
    {
        var result = await processor.UnmergeAsync(mergeId, ct);
        return result is null ? Results.NotFound() : Results.Ok(result);
    }
}

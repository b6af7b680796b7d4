using Cdp.Modules.Scheduling.Contracts;
using Cdp.Modules.Scheduling.Hosting;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Cdp.Modules.Scheduling;

/// <summary>/api/scheduling: the recurring jobs as configured and scheduled, and "run now".</summary>
internal static class SchedulingEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/scheduling").WithTags("Scheduling");

        group.MapGet("/recurring", (RecurringJobCatalog catalog) => TypedResults.Ok(catalog.List().Select(r => new RecurringJobView(
            r.Id,
            catalog.Settings(r.Id)?.Kind,
            r.Cron,
            r.TimeZoneId,
            r.Job?.Queue ?? r.Queue, // Hangfire 1.8 keeps a job's own queue in the job
            r.NextExecution,
            r.LastExecution,
            r.LastJobId,
            r.LastJobState,
            r.Error)).ToList())).RequireAdmin().WithSummary("The recurring jobs from Cdp:Scheduling:RecurringJobs: cron, next and last run, state");

        group.MapPost("/recurring/{id}/trigger", Results<Accepted<TriggeredRun>, NotFound<ProblemDetails>> (string id, IBackgroundJobs jobs) =>
            jobs.TriggerRecurring(id) is { } jobId
                ? TypedResults.Accepted($"/jobs/jobs/details/{jobId}", new TriggeredRun(id, jobId))
                : TypedResults.NotFound(new ProblemDetails { Title = "Not Found", Status = 404, Detail = $"no recurring job '{id}' (Cdp:Scheduling:RecurringJobs)" }))
            .RequireAdmin().WithSummary("Run a recurring job now (it is queued; follow it on the jobs dashboard)");
    }

    internal sealed record RecurringJobView(string Id, string? Kind, string? Cron, string? TimeZone, string? Queue,
        DateTime? NextExecution, DateTime? LastExecution, string? LastJobId, string? LastJobState, string? Error);

    internal sealed record TriggeredRun(string RecurringJobId, string JobId);
}

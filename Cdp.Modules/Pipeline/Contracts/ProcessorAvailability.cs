using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Modules.Pipeline.Contracts;

/// <summary>
/// A command for the profile processor (unmerge, erasure, link, pause...) cannot run: its thread is dead (its state
/// could not be loaded, or an error escaped its loop), the host is stopping, or another host runs the processor
/// (Cdp:Storage:Hosts = Several: the message names it). Thrown at once, never after a wait.
/// </summary>
public sealed class ProcessorUnavailableException(string message) : InvalidOperationException(message);

public static class ProcessorUnavailableEndpoints
{
    /// <summary>
    /// The endpoints of <paramref name="group"/> answer 503 with the reason (which names the leading host, on a follower)
    /// when the processor cannot take their command, not a 500.
    /// </summary>
    public static TBuilder AnswerUnavailableProcessorWith503<TBuilder>(this TBuilder group) where TBuilder : IEndpointConventionBuilder =>
        group.AddEndpointFilter(async (context, next) =>
        {
            try { return await next(context); }
            catch (ProcessorUnavailableException ex)
            {
                return TypedResults.Problem(title: "the profile processor is not available here", detail: ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
}

public static class ProcessorCommandEndpoints
{
    /// <summary>
    /// The endpoint is a command that runs on the processor's thread: with several hosts, a follower sends it on to the
    /// leading host (Cdp:Storage:HostUrl) and relays the answer, instead of running it (which would fail naming the leader).
    /// </summary>
    public static RouteHandlerBuilder RunsOnLeader(this RouteHandlerBuilder endpoint) =>
        endpoint.AddEndpointFilter(async (context, next) =>
        {
            var forwarder = context.HttpContext.RequestServices.GetRequiredService<Api.LeaderForwarder>();
            return forwarder.Follows && await forwarder.ForwardAsync(context.HttpContext) is { } answer ? answer : await next(context);
        });
}

/// <summary>Process exit codes of the profile processor (see README, Operations).</summary>
public static class ProfileProcessorExit
{
    /// <summary>
    /// The processor's thread died and could not recover (loading its state failed every attempt, or an error escaped
    /// its loop): the host stops with this code so that the service manager restarts it. Storage's own is 4.
    /// </summary>
    public const int ProcessorDead = 5;
}

using Cdp.Modules.Pipeline.Processing;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Pipeline.Api;

/// <summary>
/// Several hosts (Cdp:Storage:Hosts = Several): a command that runs on the processor's thread, asked of a follower, is sent
/// on to the leading host (its Cdp:Storage:HostUrl) and the leader's answer is relayed as it is: status, headers, body. The
/// follower has already checked the caller's key; the leader checks it again (every host has the same keys). A request
/// that was forwarded once is never forwarded again: when the lead moved meanwhile, it fails as on any follower (503
/// naming the leader). Without the leader's URL the command is not forwarded: 503 naming the leader.
/// </summary>
[Service]
internal sealed class LeaderForwarder(IProcessorLeadership leadership, HostLead lead, ILogger<LeaderForwarder> log) : IDisposable
{
    /// <summary>Set on a forwarded request, naming the follower that forwarded it.</summary>
    public const string Header = "X-Cdp-Forwarded-By";

    /// <summary>Bodies up to this size are kept by a follower so that it can forward them (commands' bodies are small).</summary>
    public const long MaxBufferedBody = 1024 * 1024;

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "TE", "Trailer", "Host",
    };

    private readonly HttpClient _client = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), AllowAutoRedirect = false })
    {
        Timeout = Timeout.InfiniteTimeSpan, // the caller's own abort ends it
    };

    /// <summary>Whether this host would forward a command now (a follower among several hosts).</summary>
    public bool Follows => lead.Shared && !lead.Leads;

    /// <summary>The leader's answer to <paramref name="context"/>'s request, or null when it cannot be forwarded (run it here, which fails naming the leader).</summary>
    public async Task<IResult?> ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        if (!Follows || request.Headers.ContainsKey(Header)) return null;
        var hasBody = request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0;
        if (hasBody && !request.Body.CanSeek) return null; // a body this host did not keep
        if (leadership.LeaderAddress() is not { } address) return null;
        var target = new Uri(address.TrimEnd('/') + request.PathBase + request.Path + request.QueryString);
        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), target);
        if (hasBody)
        {
            request.Body.Position = 0;
            forward.Content = new StreamContent(request.Body);
        }
        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
            if (!forward.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values)) forward.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }
        forward.Headers.TryAddWithoutValidation(Header, leadership.Host);
        HttpResponseMessage answer;
        try
        {
            answer = await _client.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        }
        catch (HttpRequestException ex)
        {
            log.LogWarning("Forwarding {Method} {Path} to the leading host at {Address} failed: {Error}", request.Method, request.Path, address, ex.Message);
            return TypedResults.Problem(title: "the profile processor is not available here",
                detail: $"this host ({leadership.Host}) does not run the profile processor, and the host that does ({leadership.Leader() ?? "unknown"}) could not be reached at {address}: {ex.Message}",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        return new Relayed(answer);
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The leader's answer, written as it came.</summary>
    private sealed class Relayed(HttpResponseMessage answer) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            using (answer)
            {
                var response = httpContext.Response;
                response.StatusCode = (int)answer.StatusCode;
                foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
                    if (!HopByHop.Contains(name)) response.Headers[name] = values.ToArray();
                await using var body = await answer.Content.ReadAsStreamAsync(httpContext.RequestAborted);
                await body.CopyToAsync(response.Body, httpContext.RequestAborted);
            }
        }
    }
}

/// <summary>
/// On a follower, keeps the (small) body of each admin API request, so that a command for the leader can be sent on whole
/// after the endpoint's parameters were read from it. Nothing is kept with one host per database, or on the leader.
/// </summary>
internal sealed class ForwardableBodies(LeaderForwarder forwarder) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, then) =>
        {
            if (forwarder.Follows && context.Request.Path.StartsWithSegments("/api") && Small(context.Request))
                context.Request.EnableBuffering();
            return then(context);
        });
        next(app);
    };

    /// <summary>
    /// A body of at most <see cref="LeaderForwarder.MaxBufferedBody"/>, or a JSON body sent without a length (a command's,
    /// chunked): kept in memory, past 30 KB in a temporary file. Uploads (CSV imports) are not kept: they are never forwarded.
    /// </summary>
    private static bool Small(HttpRequest request) => request.ContentLength switch
    {
        null => request.HasJsonContentType(),
        > 0 and <= LeaderForwarder.MaxBufferedBody => true,
        _ => false,
    };
}

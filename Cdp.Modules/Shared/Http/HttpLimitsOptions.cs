using FluentValidation;

namespace Cdp.Modules.Shared.Http;

/// <summary>
/// appsettings section <c>Cdp:Http</c>: how many connections Kestrel keeps open at once and how long an idle one may
/// stay. Every connection holds a file descriptor; a process that runs out of them cannot open its own files or accept
/// anything, and the .NET runtime aborts ("Out of memory.", measured at ~20,000 idle connections under a 20,000 fd limit).
/// Over <see cref="MaxConcurrentConnections"/> Kestrel closes a new connection at once and the process goes on.
/// </summary>
public sealed class HttpLimitsOptions
{
    public const string Section = "Cdp:Http";

    /// <summary>
    /// Open connections at once (HTTP/1.1 and HTTP/2). 10,000 sits safely below the LimitNOFILE=65536 the README
    /// recommends, leaving room for the database files, upgraded connections and outgoing connections to destinations.
    /// </summary>
    public long MaxConcurrentConnections { get; set; } = 10_000;

    /// <summary>Connections upgraded to another protocol (WebSockets), counted apart from the others by Kestrel.</summary>
    public long MaxConcurrentUpgradedConnections { get; set; } = 1_000;

    /// <summary>An idle keep-alive connection is closed after this (Kestrel's default, 2 min 10 s).</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(130);

    /// <summary>A connection that has not sent a request's headers within this is closed (Kestrel's default, 30 s).</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Export ASP.NET Core's and Kestrel's per-request meters (request duration histograms by route, active requests,
    /// connections) on /metrics. Off by default: listening to them cost ~13% of single-event ingest throughput.
    /// </summary>
    public bool RequestMetrics { get; set; }
}

public sealed class HttpLimitsOptionsValidator : AbstractValidator<HttpLimitsOptions>
{
    public HttpLimitsOptionsValidator()
    {
        RuleFor(o => o.MaxConcurrentConnections).InclusiveBetween(1, 1_000_000)
            .WithMessage("must be between 1 and 1,000,000 (and below the process's file-descriptor limit, LimitNOFILE)");
        RuleFor(o => o.MaxConcurrentUpgradedConnections).InclusiveBetween(0, 1_000_000)
            .WithMessage("must be between 0 and 1,000,000");
        RuleFor(o => o.KeepAliveTimeout).InclusiveBetween(TimeSpan.FromSeconds(1), TimeSpan.FromHours(1))
            .WithMessage("must be between 00:00:01 and 01:00:00");
        RuleFor(o => o.RequestHeadersTimeout).InclusiveBetween(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10))
            .WithMessage("must be between 00:00:01 and 00:10:00");
    }
}

using System.Globalization;
using System.Threading.RateLimiting;
using Cdp.Modules.Governance.Audit;
using FluentValidation;
using Microsoft.AspNetCore.RateLimiting;

namespace Cdp.Modules.Governance.Access;

/// <summary>
/// appsettings section <c>Cdp:Admin:Unauthenticated</c>: how many requests without a valid key (none, or a wrong one) one
/// address may send to /api and /jobs a minute. Past it: 429 with Retry-After until its minute is over. Requests with a
/// valid key are never limited here. Guessing a 24-character key is out of reach anyway; the limit makes floods and
/// brute force cost the sender instead of the server.
/// </summary>
internal sealed class UnauthenticatedLimitOptions
{
    public const string Section = "Cdp:Admin:Unauthenticated";

    /// <summary>A person at the sign-in page sends a handful; 100 leaves room for a script that forgot its key.</summary>
    public int PermitsPerMinute { get; set; } = 100;
}

internal sealed class UnauthenticatedLimitOptionsValidator : AbstractValidator<UnauthenticatedLimitOptions>
{
    public const int MaxPermitsPerMinute = 100_000;

    public UnauthenticatedLimitOptionsValidator()
    {
        RuleFor(o => o.PermitsPerMinute).InclusiveBetween(1, MaxPermitsPerMinute)
            .WithMessage($"must be between 1 and {MaxPermitsPerMinute} requests a minute per address");
    }
}

/// <summary>ASP.NET Core's rate limiter, partitioned by remote address (IPv6 by /64) for requests without a valid key.</summary>
internal static class UnauthenticatedLimit
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>One partition for every request with a valid key: it is never limited.</summary>
    private const string Authenticated = "";

    public static void Configure(RateLimiterOptions options, UnauthenticatedLimitOptions limit, UnauthenticatedRequests tally)
    {
        options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            context.User.Identity?.IsAuthenticated == true
                ? RateLimitPartition.GetNoLimiter(Authenticated)
                : RateLimitPartition.GetFixedWindowLimiter(UnauthenticatedRequests.AddressOf(context.Connection.RemoteIpAddress), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = limit.PermitsPerMinute,
                    Window = Window,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
        options.OnRejected = (rejected, cancellationToken) =>
        {
            tally.RateLimited();
            var response = rejected.HttpContext.Response;
            var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : Window;
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return new ValueTask(response.WriteAsJsonAsync(new
            {
                title = "Too many requests without a valid key",
                status = StatusCodes.Status429TooManyRequests,
                detail = $"this address sent more than {limit.PermitsPerMinute} requests without a valid API key this minute (Cdp:Admin:Unauthenticated:PermitsPerMinute); try again in {seconds} s",
            }, cancellationToken));
        };
    }
}

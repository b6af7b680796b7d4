using System.Net;
using Cdp.Modules.Shared.Configuration;
using FluentValidation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Shared.Http;

/// <summary>
/// appsettings section <c>Cdp:Http:ForwardedHeaders</c>: behind a TLS reverse proxy, take the client's address and scheme
/// from <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c>, but only from the proxies listed (anyone else could send
/// those headers). Then the dashboard's cookies are Secure, and per-address limits see the client, not the proxy.
/// Off by default: without a proxy these headers come from the client and must not be believed.
/// </summary>
public sealed class ForwardedHeadersSettings
{
    public const string Section = "Cdp:Http:ForwardedHeaders";

    public bool Enabled { get; set; }

    /// <summary>Addresses of the proxies whose headers are believed, e.g. "10.0.0.5". Empty with no networks: loopback only.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Networks of such proxies in CIDR notation, e.g. "10.0.0.0/24".</summary>
    public List<string> TrustedNetworks { get; set; } = [];

    /// <summary>Proxies in a row whose entries are taken from the end of X-Forwarded-For (ASP.NET Core's default: 1).</summary>
    public int ForwardLimit { get; set; } = 1;
}

public sealed class ForwardedHeadersSettingsValidator : AbstractValidator<ForwardedHeadersSettings>
{
    public ForwardedHeadersSettingsValidator()
    {
        RuleForEach(o => o.TrustedProxies).Must(p => IPAddress.TryParse(p ?? "", out _))
            .WithMessage((_, p) => $"'{p}' is not an IP address, e.g. 10.0.0.5 or ::1");
        RuleForEach(o => o.TrustedNetworks).Must(n => System.Net.IPNetwork.TryParse(n ?? "", out _))
            .WithMessage((_, n) => $"'{n}' is not a network in CIDR notation, e.g. 10.0.0.0/24 or fd00::/8");
        RuleFor(o => o.ForwardLimit).InclusiveBetween(1, 10).WithMessage("must be between 1 and 10 proxies");
    }
}

/// <summary>Puts ASP.NET Core's forwarded-headers middleware in front of everything else when the settings turn it on.</summary>
public sealed class ForwardedHeadersStartup(IOptions<ForwardedHeadersSettings> settings) : IStartupFilter
{
    public static void Register(IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        services.AddValidatedSettings<ForwardedHeadersSettings, ForwardedHeadersSettingsValidator>(configuration, ForwardedHeadersSettings.Section);
        // first: every later middleware (limits, sessions, audit) sees the client's address and scheme
        services.Insert(0, ServiceDescriptor.Singleton<IStartupFilter, ForwardedHeadersStartup>());
    }

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        var o = settings.Value;
        if (o.Enabled)
        {
            var options = new ForwardedHeadersOptions
            {
                ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
                ForwardLimit = o.ForwardLimit,
            };
            if (o.TrustedProxies.Count + o.TrustedNetworks.Count > 0)
            {
                options.KnownProxies.Clear();
                options.KnownIPNetworks.Clear();
                foreach (var proxy in o.TrustedProxies) options.KnownProxies.Add(IPAddress.Parse(proxy));
                foreach (var network in o.TrustedNetworks) options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
            app.UseForwardedHeaders(options);
        }
        next(app);
    };
}

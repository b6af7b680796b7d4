using System.Net;
using Cdp.Modules.Scheduling.Dashboard;
using Cdp.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Scheduling;

/// <summary>The jobs dashboard's sessions, anti-forgery tokens, cookies behind a proxy and security headers.</summary>
public sealed class DashboardSecurityTests
{
    private static async Task<bool> RecurringJobExists(CdpHost host, string id) =>
        (await host.AdminClient().GetStringAsync("/api/scheduling/recurring")).Contains($"\"id\":\"{id}\"", StringComparison.Ordinal);

    [Fact]
    public async Task The_session_cookie_is_a_random_id_never_the_key_and_sign_out_ends_the_session_on_the_server()
    {
        using var host = new CdpHost();
        using var browser = new DashboardBrowser(host.ServerAddress);
        (await browser.SignIn(CdpHost.AdminKey)).StatusCode.Should().Be(HttpStatusCode.Redirect);
        var session = browser.Session;
        session.Should().NotBeNullOrEmpty().And.NotContain(CdpHost.AdminKey);
        (await browser.Client.GetAsync("/jobs/recurring")).StatusCode.Should().Be(HttpStatusCode.OK);

        (await browser.SignOut()).StatusCode.Should().Be(HttpStatusCode.Redirect);
        browser.Session.Should().BeNull("sign-out deletes the cookie");

        // a copy of the cookie taken before the sign-out (stolen) opens nothing any more
        using var thief = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = browser.BaseAddress };
        thief.DefaultRequestHeaders.Add("Cookie", $"{DashboardSignIn.CookieName}={session}");
        (await thief.GetAsync("/jobs/recurring")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_session_dies_when_its_key_is_changed_or_loses_the_admin_role_in_reloaded_settings()
    {
        using var host = new CdpHost(new Dictionary<string, string?>
        {
            ["Cdp:Admin:ApiKeys:second:Key"] = "second-admin-key-0123456789",
            ["Cdp:Admin:ApiKeys:second:Role"] = "Admin",
        });
        using var ops = new DashboardBrowser(host.ServerAddress);
        using var second = new DashboardBrowser(host.ServerAddress);
        (await ops.SignIn(CdpHost.AdminKey)).StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await second.SignIn("second-admin-key-0123456789")).StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await ops.Client.GetAsync("/jobs")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await second.Client.GetAsync("/jobs")).StatusCode.Should().Be(HttpStatusCode.OK);

        // an operator edits the settings: ops's key is replaced, second becomes an analyst (appsettings.json reloads the same way)
        var configuration = (IConfigurationRoot)host.Service<IConfiguration>();
        configuration["Cdp:Admin:ApiKeys:ops:Key"] = "rotated-admin-key-0123456789";
        configuration["Cdp:Admin:ApiKeys:second:Role"] = "Analyst";
        configuration.Reload();

        (await ops.Client.GetAsync("/jobs")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await second.Client.GetAsync("/jobs")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await host.AdminClient().GetAsync("/api/segments")).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the old key is gone for scripts too");
        (await host.AdminClient("rotated-admin-key-0123456789").GetAsync("/jobs")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_invalid_settings_edit_keeps_the_keys_in_force()
    {
        using var host = new CdpHost();
        var configuration = (IConfigurationRoot)host.Service<IConfiguration>();
        configuration["Cdp:Admin:ApiKeys:ops:Key"] = "short";
        // the options' own validation throws out of Reload (a pre-existing behaviour of validated options); the key ring logs instead
        Record.Exception(() => configuration.Reload());
        (await host.AdminClient().GetAsync("/api/segments")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await host.AdminClient("short").GetAsync("/api/segments")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_dashboard_post_with_the_session_cookie_but_without_the_pages_token_is_refused_and_with_it_works()
    {
        using var host = new CdpHost();
        await Eventually.Until(() => RecurringJobExists(host, "litedb-checkpoint").GetAwaiter().GetResult(), "the recurring job to be reconciled");
        using var browser = new DashboardBrowser(host.ServerAddress);
        (await browser.SignIn(CdpHost.AdminKey)).StatusCode.Should().Be(HttpStatusCode.Redirect);

        var forged = await browser.Client.PostAsync("/jobs/recurring/remove", new FormUrlEncodedContent([new("jobs[]", "litedb-checkpoint")]));
        forged.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await RecurringJobExists(host, "litedb-checkpoint")).Should().BeTrue("a post without the anti-forgery token changes nothing");

        var token = await browser.TokenOf("/jobs/recurring");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs/recurring/remove")
        {
            Content = new FormUrlEncodedContent([new("jobs[]", "litedb-checkpoint")]),
        };
        request.Headers.Add(DashboardBrowser.TokenHeader, token);
        (await browser.Client.SendAsync(request)).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await RecurringJobExists(host, "litedb-checkpoint")).Should().BeFalse("the dashboard's own button (which sends the token) works");
    }

    [Fact]
    public async Task Sign_in_and_sign_out_forms_without_the_token_are_refused()
    {
        using var host = new CdpHost();
        using var browser = new DashboardBrowser(host.ServerAddress);
        (await browser.Client.PostAsync("/jobs/sign-in", new FormUrlEncodedContent([new("key", CdpHost.AdminKey)])))
            .StatusCode.Should().Be(HttpStatusCode.BadRequest);
        browser.Session.Should().BeNull();
        (await browser.SignIn(CdpHost.AdminKey)).StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await browser.Client.PostAsync("/jobs/sign-out", new FormUrlEncodedContent([new("x", "y")]))).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await browser.Client.GetAsync("/jobs")).StatusCode.Should().Be(HttpStatusCode.OK, "a forged sign-out ends nothing");
    }

    [Fact]
    public async Task Dashboard_requests_without_a_form_or_with_a_broken_one_get_no_5xx_even_when_signed_in()
    {
        using var host = new CdpHost();
        var admin = host.AdminClient();
        (await admin.GetAsync("/jobs/stats")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await admin.PostAsync("/jobs/stats", new StringContent("{}", System.Text.Encoding.UTF8, "application/json")))
            .StatusCode.Should().Be(HttpStatusCode.Forbidden, "a POST without the page's anti-forgery token is refused, whatever its body");
        var broken = new StringContent("x=1", System.Text.Encoding.UTF8);
        broken.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("application/x-www-form-urlencoded; charset=utf-7");
        (await admin.PostAsync("/jobs/recurring/remove", broken)).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await admin.PostAsync("/jobs/recurring/remove", new StringContent("[1]", System.Text.Encoding.UTF8, "application/json")))
            .StatusCode.Should().BeOneOf(HttpStatusCode.Forbidden, HttpStatusCode.NoContent, HttpStatusCode.UnprocessableEntity);
    }

    [Fact]
    public async Task Every_jobs_answer_carries_the_admin_pages_security_headers()
    {
        using var host = new CdpHost();
        using var browser = new DashboardBrowser(host.ServerAddress);
        foreach (var response in new[]
                 {
                     await browser.Client.GetAsync("/jobs/sign-in"),
                     await browser.Client.GetAsync("/jobs"),
                     await host.AdminClient().GetAsync("/jobs"),
                     await host.AdminClient().GetAsync("/jobs/recurring"),
                 })
        {
            var headers = response.Headers;
            headers.GetValues("Content-Security-Policy").Single().Should().Be(DashboardSignIn.ContentSecurityPolicy).And.Contain("frame-ancestors 'none'");
            headers.GetValues("X-Frame-Options").Single().Should().Be("DENY");
            headers.GetValues("X-Content-Type-Options").Single().Should().Be("nosniff");
        }
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_the_cookies_are_Secure_and_an_untrusted_sender_cannot_claim_https()
    {
        // cookies by hand: a client's cookie jar would not send the Secure anti-forgery cookie back over http
        static async Task<string> SessionCookie(CdpHost host, bool forwardHttps)
        {
            using var client = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri(host.ServerAddress) };
            if (forwardHttps) client.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
            var page = await client.GetAsync(DashboardSignIn.SignInPath);
            var antiforgery = page.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(DashboardSignIn.AntiforgeryCookieName + "=", StringComparison.Ordinal));
            var html = await page.Content.ReadAsStringAsync();
            var token = System.Text.RegularExpressions.Regex.Match(html, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
            using var post = new HttpRequestMessage(HttpMethod.Post, DashboardSignIn.SignInPath)
            {
                Content = new FormUrlEncodedContent([new(DashboardBrowser.TokenField, WebUtility.HtmlDecode(token)), new("key", CdpHost.AdminKey)]),
            };
            post.Headers.Add("Cookie", antiforgery.Split(';')[0]);
            var signIn = await client.SendAsync(post);
            signIn.StatusCode.Should().Be(HttpStatusCode.Redirect, await signIn.Content.ReadAsStringAsync());
            return signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(DashboardSignIn.CookieName + "=", StringComparison.Ordinal));
        }

        using (var trusted = new CdpHost(new Dictionary<string, string?>
               {
                   ["Cdp:Http:ForwardedHeaders:Enabled"] = "true",
                   ["Cdp:Http:ForwardedHeaders:TrustedProxies:0"] = "127.0.0.1",
               }))
        {
            (await SessionCookie(trusted, forwardHttps: true)).Should().Contain("secure");
        }
        using (var untrusted = new CdpHost(new Dictionary<string, string?>
               {
                   ["Cdp:Http:ForwardedHeaders:Enabled"] = "true",
                   ["Cdp:Http:ForwardedHeaders:TrustedNetworks:0"] = "10.0.0.0/8",
               }))
        {
            (await SessionCookie(untrusted, forwardHttps: true)).Should().NotContain("secure", "127.0.0.1 is not a trusted proxy here");
        }
        using (var off = new CdpHost())
        {
            (await SessionCookie(off, forwardHttps: true)).Should().NotContain("secure", "forwarded headers are off by default");
        }
    }

    [Theory]
    [InlineData("TrustedProxies:0", "10.0.0.300", "Cdp:Http:ForwardedHeaders:TrustedProxies:0")]
    [InlineData("TrustedNetworks:0", "10.0.0.0/33", "Cdp:Http:ForwardedHeaders:TrustedNetworks:0")]
    [InlineData("ForwardLimit", "0", "Cdp:Http:ForwardedHeaders:ForwardLimit")]
    public void Invalid_forwarded_header_settings_stop_the_start_naming_the_setting(string key, string value, string named)
    {
        using var folder = new TempFolder();
        var app = Cdp.Host.CdpApp.CreateBuilder(["--environment=Testing", $"--Cdp:Storage:Path={folder.File("cdp.db")}",
            "--Cdp:Http:ForwardedHeaders:Enabled=true", $"--Cdp:Http:ForwardedHeaders:{key}={value}"]).Build();
        using (app as IDisposable)
        {
            var validate = () => Cdp.Host.CdpApp.ValidateSettings(app.Services);
            validate.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(named);
        }
    }
}

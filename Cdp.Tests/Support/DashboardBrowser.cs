using System.Net;
using System.Text.RegularExpressions;

namespace Cdp.Tests.Support;

/// <summary>
/// What a browser does with the jobs dashboard at /jobs: keeps its cookies, reads the anti-forgery token from a page
/// (the sign-in and sign-out forms' hidden field, Hangfire's csrf-token meta tag) and sends it with its forms.
/// </summary>
public sealed partial class DashboardBrowser : IDisposable
{
    public const string TokenField = "__RequestVerificationToken";
    public const string TokenHeader = "RequestVerificationToken";

    public DashboardBrowser(string baseAddress)
    {
        BaseAddress = new Uri(baseAddress);
        Client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = Cookies }) { BaseAddress = BaseAddress };
    }

    public Uri BaseAddress { get; }

    public CookieContainer Cookies { get; } = new();

    public HttpClient Client { get; }

    /// <summary>The dashboard session cookie's value, or null.</summary>
    public string? Session => Cookies.GetCookies(new Uri(BaseAddress, "/jobs/"))["cdp_jobs_session"]?.Value;

    [GeneratedRegex("""name="__RequestVerificationToken" value="([^"]+)"|<meta name="csrf-token" content="([^"]+)">""")]
    private static partial Regex Token();

    /// <summary>The anti-forgery token of a page (a form's hidden field or Hangfire's meta tag).</summary>
    public async Task<string> TokenOf(string page)
    {
        var html = await Client.GetStringAsync(page);
        var match = Token().Match(html);
        match.Success.Should().BeTrue($"{page} carries an anti-forgery token:\n{html}");
        return WebUtility.HtmlDecode(match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value);
    }

    public async Task<HttpResponseMessage> SignIn(string key) =>
        await Client.PostAsync("/jobs/sign-in", new FormUrlEncodedContent([new(TokenField, await TokenOf("/jobs/sign-in")), new("key", key)]));

    public async Task<HttpResponseMessage> SignOut() =>
        await Client.PostAsync("/jobs/sign-out", new FormUrlEncodedContent([new(TokenField, await TokenOf("/jobs/sign-out"))]));

    public void Dispose() => Client.Dispose();
}

using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using AdminUiFiles = Cdp.Host.Admin.AdminUi;
using Cdp.Tests.Support;
using Microsoft.Extensions.FileProviders;

namespace Cdp.Tests.AdminUi;

/// <summary>How /admin is served: embedded files, a strict Content-Security-Policy, nothing from the internet; GET /api/me.</summary>
public sealed class AdminUiServingTests : IDisposable
{
    private readonly CdpHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task The_admin_pages_come_from_the_executable_with_a_content_security_policy_that_allows_no_inline_script()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(_host.ServerAddress) };
        var redirect = await client.GetAsync("/admin");
        redirect.StatusCode.Should().Be(HttpStatusCode.Redirect);
        redirect.Headers.Location!.ToString().Should().Be("/admin/");

        var index = await client.GetAsync("/admin/");
        index.StatusCode.Should().Be(HttpStatusCode.OK);
        index.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        var csp = index.Headers.GetValues("Content-Security-Policy").Single();
        csp.Should().Contain("script-src 'self'").And.Contain("default-src 'none'").And.NotContain("unsafe-inline").And.NotContain("unsafe-eval");
        index.Headers.GetValues("X-Content-Type-Options").Single().Should().Be("nosniff");
        (await index.Content.ReadAsStringAsync()).Should().Contain("<script type=\"module\" src=\"js/app.js\"></script>");

        var script = await client.GetAsync("/admin/js/app.js");
        script.StatusCode.Should().Be(HttpStatusCode.OK);
        script.Content.Headers.ContentType!.MediaType.Should().Be("text/javascript");
        var css = await client.GetAsync("/admin/app.css");
        css.Content.Headers.ContentType!.MediaType.Should().Be("text/css");

        (await client.GetAsync("/admin/no-such-file.js")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await client.GetAsync("/admin/../appsettings.json")).StatusCode.Should().NotBe(HttpStatusCode.OK);
    }

    [Fact]
    public void The_embedded_files_load_nothing_from_outside_Cdp_and_have_no_inline_script_or_style()
    {
        var files = new ManifestEmbeddedFileProvider(typeof(AdminUiFiles).Assembly, "Admin/wwwroot");
        var all = Walk(files, "/").ToList();
        all.Select(f => f.Path).Should().Contain(["index.html", "app.css", "js/app.js", "js/pages/segments.js"]);
        foreach (var (path, text) in all)
        {
            var withoutSvgNamespace = text.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal);
            withoutSvgNamespace.Should().NotContainAny(["http://", "https://", "//cdn", "@import"], $"{path} must work without internet access");
            if (path.EndsWith(".html", StringComparison.Ordinal))
            {
                text.Should().NotContain(" style=", $"{path}: the CSP forbids inline styles");
                text.Should().NotContainAny(["onclick=", "onload=", "<script>"], $"{path}: the CSP forbids inline script");
            }
        }
    }

    private static IEnumerable<(string Path, string Text)> Walk(IFileProvider files, string folder)
    {
        foreach (var f in files.GetDirectoryContents(folder))
        {
            var path = folder == "/" ? f.Name : folder + "/" + f.Name;
            if (f.IsDirectory)
            {
                foreach (var inner in Walk(files, path)) yield return inner;
                continue;
            }
            using var reader = new StreamReader(f.CreateReadStream());
            yield return (path, reader.ReadToEnd());
        }
    }

    [Fact]
    public async Task Api_me_names_the_signed_in_key_and_its_role()
    {
        var admin = await _host.AdminClient().GetFromJsonAsync<JsonElement>("/api/me");
        admin.GetProperty("name").GetString().Should().Be("ops");
        admin.GetProperty("role").GetString().Should().Be("Admin");
        var analyst = await _host.AdminClient(CdpHost.AnalystKey).GetFromJsonAsync<JsonElement>("/api/me");
        analyst.GetProperty("name").GetString().Should().Be("reader");
        analyst.GetProperty("role").GetString().Should().Be("Analyst");
        (await _host.CreateClient().GetAsync("/api/me")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await _host.AdminClient("wrong-key-0123456789").GetAsync("/api/me")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Cdp.Tests.Collection;
using Cdp.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Xunit.Abstractions;

namespace Cdp.Tests.Governance;

/// <summary>
/// Thousands of mutated and random requests (wrong types, huge strings, deep nesting, invalid UTF-8, duplicate keys, bad query
/// strings, unknown ids) against every /api endpoint the app maps, with the admin key: never a 5xx, and the host keeps serving.
/// </summary>
public sealed class AdminApiFuzzTests(ITestOutputHelper output)
{
    /// <summary>Writes a copy of the databases to a folder named by the request: not something to do thousands of times.</summary>
    private static readonly HashSet<string> Excluded = ["/api/admin/backup"];

    private static readonly string[] RouteValues =
    [
        "p_1", "p_999999", "user_id:u1", "email:jane@example.com", "email:", ":", "p_", "1", "0", "-5", "9223372036854775808",
        "dermatology-no-booking", "litedb-checkpoint", "nope", "%2e%2e%2f%2e%2e", "%00", "%ED%A0%80", "%FF%FE", "ü😀", "' OR 1=1 --",
        "{\"$ne\":null}", new string('x', 3000), "a%20b", "%25", "null", "true", "1e308", "NaN",
    ];

    private static readonly string[] QueryNames =
    [
        "after", "limit", "take", "before", "skip", "cursor", "identifier", "trait", "value", "a", "b", "actor", "from", "to",
        "full", "allowMassRemoval", "source", "map", "event", "fileName", "delimiter", "where", "key",
    ];

    private static readonly string[] QueryValues =
    [
        "-1", "0", "1", "99999999999999999999", "abc", "", "%00", "%ED%A0%80", "' OR 1=1", "email:", "email:jane@example.com",
        "p_1", "2026-01-01T00:00:00Z", "yesterday", "true", "maybe", "1e400", "-9223372036854775808", new string('9', 400),
        "userId=CustomerID", "userId=", ";", "%0A%0D", "[]", "{}",
    ];

    private static readonly string[] Seeds =
    [
        """{"key":"k1","name":"Name","description":"d","where":"traits.vip exists"}""",
        """{"where":"performed \"Order Completed\" where properties.total > 60 at least 2 times within 30d","key":"dermatology-no-booking"}""",
        """{"where":"in segment \"dermatology-no-booking\" and not traits.email exists"}""",
        """{"userId":"u1","traits":{"email":"x@y.z"},"items":[1,2,{"a":null}]}""",
    ];

    private static byte[] Body(Random rng)
    {
        switch (rng.Next(10))
        {
            case 0: return [];
            case 1: return Enumerable.Range(0, rng.Next(1, 2000)).Select(_ => (byte)rng.Next(256)).ToArray();
            case 2: return Encoding.UTF8.GetBytes("CustomerID,Email\nc1,a@b.c\n\"unterminated,x\n" + new string(',', rng.Next(0, 500)));
        }
        var text = Seeds[rng.Next(Seeds.Length)];
        for (var i = rng.Next(1, 5); i > 0; i--)
        {
            var at = rng.Next(text.Length + 1);
            text = rng.Next(9) switch
            {
                0 => text[..at] + new string('[', rng.Next(1, 300)) + text[at..],
                1 => text[..at] + "\"" + new string('y', rng.Next(1, 200_000)) + "\"" + text[at..],
                2 => text.Replace("\"k1\"", rng.Next(3) switch { 0 => "12", 1 => "null", _ => "[\"a\"]" }),
                3 => text.Insert(Math.Max(0, text.IndexOf('{') + 1), "\"key\":\"dup\","),
                4 => text.Replace("\"where\":\"", "\"where\":" + (rng.Next(2) == 0 ? "42," : "{\"x\":1},\"")),
                5 => text[..Math.Min(at, text.Length)],
                6 => text[..at] + "\\ud800\\u0000" + text[at..],
                7 => text.Replace(">", rng.Next(2) == 0 ? ">>" : "> 1e400 and ((((((((("),
                _ => text + "}garbage",
            };
        }
        var bytes = Encoding.UTF8.GetBytes(text).ToList();
        if (rng.Next(6) == 0) bytes.InsertRange(rng.Next(bytes.Count + 1), new byte[] { 0xC3, 0x28, 0xFF });
        return bytes.ToArray();
    }

    private static string Fill(Random rng, RouteEndpoint endpoint)
    {
        var path = endpoint.RoutePattern.RawText!;
        foreach (var p in endpoint.RoutePattern.Parameters)
        {
            var value = RouteValues[rng.Next(RouteValues.Length)];
            if (!value.Contains('%')) value = Uri.EscapeDataString(value);
            path = System.Text.RegularExpressions.Regex.Replace(path, "\\{" + p.Name + "(:[^}]*)?\\}", value.Replace("$", "$$"));
        }
        if (!path.StartsWith('/')) path = "/" + path;
        var query = Enumerable.Range(0, rng.Next(0, 4)).Select(_ =>
        {
            var v = QueryValues[rng.Next(QueryValues.Length)];
            return QueryNames[rng.Next(QueryNames.Length)] + "=" + (v.Contains('%') ? v : Uri.EscapeDataString(v));
        });
        var q = string.Join('&', query);
        return q.Length == 0 ? path : path + "?" + q;
    }

    [Fact]
    public async Task Thousands_of_hostile_requests_to_every_api_endpoint_never_get_a_5xx_and_the_host_keeps_serving()
    {
        using var host = new CdpHost();
        await host.TrackingClient().PostAsync("/v1/batch", TrackingApiTests.Json(
            """{"batch":[{"type":"identify","userId":"u1","traits":{"email":"jane@example.com"}},{"type":"track","userId":"u1","event":"Order Completed","properties":{"total":80}}]}"""));
        var endpoints = host.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } r && r.TrimStart('/').StartsWith("api", StringComparison.Ordinal) && !Excluded.Contains("/" + r.TrimStart('/')))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Endpoint: e, Method: m)))
            .ToList();
        endpoints.Count.Should().BeGreaterThan(30);

        var seed = int.TryParse(Environment.GetEnvironmentVariable("CDP_FUZZ_SEED"), out var s) ? s : 20261128;
        var rng = new Random(seed);
        const int requestsPerEndpoint = 100;
        var failures = new ConcurrentBag<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var client = host.AdminClient();
        client.Timeout = TimeSpan.FromSeconds(60);
        using var gate = new SemaphoreSlim(8);
        var tasks = new List<Task>();
        foreach (var (endpoint, method) in endpoints)
        {
            for (var i = 0; i < requestsPerEndpoint; i++)
            {
                var url = Fill(rng, endpoint);
                var body = method is "POST" or "PUT" or "PATCH" ? Body(rng) : null;
                var contentType = rng.Next(8) switch { 0 => "text/csv", 1 => "text/plain", 2 => null, _ => "application/json" };
                await gate.WaitAsync();
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        using var request = new HttpRequestMessage(new HttpMethod(method), url);
                        if (body is not null)
                        {
                            request.Content = new ByteArrayContent(body);
                            if (contentType is not null) request.Content.Headers.ContentType = new(contentType);
                        }
                        using var response = await client.SendAsync(request);
                        statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                        if ((int)response.StatusCode >= 500)
                        {
                            var text = body is null ? "" : Encoding.UTF8.GetString(body);
                            var answer = await response.Content.ReadAsStringAsync();
                            failures.Add($"{(int)response.StatusCode} {method} {(url.Length > 200 ? url[..200] : url)} body: {(text.Length > 200 ? text[..200] : text)} answer: {(answer.Length > 300 ? answer[..300] : answer)}");
                        }
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }
        }
        await Task.WhenAll(tasks);

        var total = statuses.Values.Sum();
        total.Should().Be(endpoints.Count * requestsPerEndpoint);
        failures.Should().BeEmpty($"{failures.Count} of {total} requests got a 5xx (seed {seed}):\n{string.Join("\n", failures.Take(30))}");
        output.WriteLine($"admin API fuzz: {total} requests to {endpoints.Count} endpoints: " + string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}")));
        (await host.CreateClient().GetAsync("/health/ready")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await host.AdminClient().GetAsync("/api/segments")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    /// <summary>Paths a client without a key can reach, beside every mapped route outside the Tracking API (filled as above).</summary>
    private static readonly string[] UnauthenticatedPaths =
    [
        "/jobs", "/jobs/", "/jobs/stats", "/jobs/sign-in", "/jobs/sign-out", "/jobs/recurring", "/jobs/recurring/remove",
        "/jobs/recurring/trigger", "/jobs/jobs/details/1", "/jobs/jobs/enqueued/delete", "/jobs/servers", "/jobs/retries",
        "/jobs/js18250", "/jobs/css18250", "/jobs/fonts/glyphicons-halflings-regular/eot", "/jobs/nope/%00", "/jobs/%ED%A0%80",
        "/admin", "/admin/", "/admin/index.html", "/admin/js/app.js", "/admin/app.css", "/admin/..%2f..%2fappsettings.json",
        "/admin/nope", "/metrics", "/metrics/x", "/health/live", "/health/ready", "/health/nope", "/health/%FF",
        "/openapi", "/openapi/v1.json", "/openapi/nope.json", "/openapi/%00.json", "/api", "/api/nope", "/api/me",
    ];

    private static HttpContent HostileForm(Random rng) => rng.Next(10) switch
    {
        0 => new FormUrlEncodedContent([new("key", new string('k', 2049 + rng.Next(5000)))]),
        1 => new StringContent(new string('n', 2049 + rng.Next(3000)) + "=x", Encoding.ASCII, "application/x-www-form-urlencoded"),
        2 => new StringContent("key=%zz%E0%A4%A&=&&==", Encoding.ASCII, "application/x-www-form-urlencoded"),
        3 => new StringContent(string.Join('&', Enumerable.Range(0, 1100).Select(i => $"f{i}=v")), Encoding.ASCII, "application/x-www-form-urlencoded"),
        4 => Raw("--x\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nabc\r\n--x", "multipart/form-data; boundary=x"),
        5 => Raw("garbage without boundaries", "multipart/form-data"),
        6 => Raw("--" + new string('b', 200) + "\r\n\r\n", "multipart/form-data; boundary=" + new string('b', 200)),
        7 => new ByteArrayContent(Body(rng)),
        8 => new FormUrlEncodedContent([new("__RequestVerificationToken", "CfDJ8" + new string('A', rng.Next(3000))), new("key", CdpHost.AdminKey[..10])]),
        _ => Raw(Encoding.Latin1.GetString(Body(rng)), "application/x-www-form-urlencoded; charset=utf-7"),
    };

    private static StringContent Raw(string text, string contentType)
    {
        var content = new StringContent(text, Encoding.UTF8);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    private static readonly string[] HostileCookies =
    [
        "", "cdp_jobs_session=", "cdp_jobs_session=x", "cdp_jobs_session=" + new string('s', 4000), "cdp_jobs_session=%00%FF",
        "cdp_jobs_key=" + CdpHost.AdminKey[..8], "cdp_jobs_antiforgery=CfDJ8garbage", "cdp_jobs_session=a; cdp_jobs_session=b",
        ".AspNetCore.Antiforgery.x=" + new string('a', 3000),
    ];

    [Fact]
    public async Task Requests_without_a_key_to_jobs_admin_metrics_health_openapi_and_api_never_get_a_5xx()
    {
        using var host = new CdpHost();
        var mapped = host.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } r && !r.TrimStart('/').StartsWith("v1", StringComparison.Ordinal))
            .Select(e => e.RoutePattern.RawText!).Distinct().ToList();
        var seed = int.TryParse(Environment.GetEnvironmentVariable("CDP_FUZZ_SEED"), out var s) ? s : 20261203;
        var rng = new Random(seed);
        var routeEndpoints = host.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => mapped.Contains(e.RoutePattern.RawText!)).ToList();
        var paths = UnauthenticatedPaths.Concat(routeEndpoints.Select(e => Fill(rng, e).Replace("{**path}", "stats"))).Distinct().ToList();
        string[] methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

        using var anonymous = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(host.ServerAddress),
            Timeout = TimeSpan.FromSeconds(60),
        };
        var failures = new ConcurrentBag<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        using var gate = new SemaphoreSlim(8);
        var tasks = new List<Task>();
        foreach (var path in paths)
        {
            foreach (var method in methods)
            {
                for (var i = 0; i < (method == "POST" ? 6 : 2); i++)
                {
                    var content = method is "POST" or "PUT" or "PATCH" ? HostileForm(rng) : null;
                    var cookie = HostileCookies[rng.Next(HostileCookies.Length)];
                    var header = rng.Next(6) switch { 0 => "Bearer", 1 => "Bearer " + new string('x', 3000), 2 => "Basic %%%", _ => null };
                    await gate.WaitAsync();
                    tasks.Add(Task.Run(async () =>
                    {
                        try
                        {
                            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = content };
                            if (cookie.Length > 0) request.Headers.TryAddWithoutValidation("Cookie", cookie);
                            if (header is not null) request.Headers.TryAddWithoutValidation("Authorization", header);
                            using var response = await anonymous.SendAsync(request);
                            statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                            if ((int)response.StatusCode >= 500)
                            {
                                var answer = await response.Content.ReadAsStringAsync();
                                failures.Add($"{(int)response.StatusCode} {method} {(path.Length > 150 ? path[..150] : path)} content-type: {content?.Headers.ContentType} cookie: {(cookie.Length > 40 ? cookie[..40] : cookie)} answer: {(answer.Length > 300 ? answer[..300] : answer)}");
                            }
                        }
                        finally
                        {
                            gate.Release();
                        }
                    }));
                }
            }
        }
        await Task.WhenAll(tasks);

        var total = statuses.Values.Sum();
        failures.Should().BeEmpty($"{failures.Count} of {total} requests without a key got a 5xx (seed {seed}):\n{string.Join("\n", failures.Take(30))}");
        statuses.Keys.Should().Contain(401, "the admin surfaces refuse a request without a key");
        output.WriteLine($"unauthenticated fuzz: {total} requests to {paths.Count} paths: " + string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}")));
        (await host.CreateClient().GetAsync("/health/ready")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await host.AdminClient().GetAsync("/jobs")).StatusCode.Should().Be(HttpStatusCode.OK);
    }
}

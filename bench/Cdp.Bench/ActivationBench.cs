using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Host;
using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Segments.Contracts;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Util;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Bench;

/// <summary>
/// Activation: the first sync of a 100,000-member segment to a Mailchimp-compatible fake (batch upsert + static segment add,
/// 500 per call), then a delta sync after a 1% change (0.5% changed names, 0.5% leavers). Profiles come through the real
/// /v1 API and processor. Reference: the same number of 500-member upsert calls POSTed straight to the fake.
/// Memory: peak managed heap and peak RSS sampled during the first sync, beside the heap before it.
/// Then the first sync of the same members to a Meta Custom Audience fake in the same run (audience created, then
/// POST /users with 10,000 hashed multi-key rows per call: normalisation and SHA-256 of email, phone, first name), its
/// time and peak memory next to Mailchimp's.
/// In the same run, the first sync of the same segment to a Google Ads Customer Match fake (OAuth token, one job, addOperations
/// of 10,000 hashed members, run, status polled): time and peak memory beside the Mailchimp figures.
/// </summary>
public sealed class ActivationBench : IBenchScenario
{
    private const string WriteKey = "bench-activation-key";
    private const string ApiKey = "0123456789abcdef0123456789abcdef-us21";

    public string Name => "Activation";

    public async Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var liteDb = await RunOnAsync(context, "", []);
        // the same syncs once more with the host on a fresh PostgreSQL database (fresh fakes), after the LiteDB run, beside its figures
        if (await BenchPostgres.HostSettingsAsync("the syncs") is not { } postgres) return liteDb;
        Console.WriteLine("   on PostgreSQL:");
        return [.. liteDb, .. BenchPostgres.Beside(liteDb, await RunOnAsync(context, "pg", postgres))];
    }

    /// <param name="storage">extra host settings: none for LiteDB, the provider and connection string for PostgreSQL</param>
    private static async Task<IReadOnlyList<BenchFigure>> RunOnAsync(BenchContext context, string folder, string[] storage)
    {
        var members = context.Quick ? 20_000 : 100_000;
        using var fake = new MailchimpCompatibleFake();
        using var meta = new MetaCompatibleFake();
        using var google = new GoogleAdsCompatibleFake();
        var segment = new AllProfiles();
        var builder = CdpApp.CreateBuilder([
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            $"--Cdp:Storage:Path={Path.Combine(Directory.CreateDirectory(Path.Combine(context.WorkFolder, folder)).FullName, "cdp.db")}",
            $"--Cdp:Sources:bench:WriteKey={WriteKey}",
            "--Cdp:Collection:QueueCapacity=1000000",
            "--Cdp:Scheduling:ServerEnabled=false",
            "--Cdp:Destinations:mc:Type=Mailchimp",
            $"--Cdp:Destinations:mc:BaseUrl={fake.Url}",
            $"--Cdp:Destinations:mc:ApiKey={ApiKey}",
            "--Cdp:Destinations:mc:ListId=list1",
            "--Cdp:Syncs:newsletter:Segment=everyone",
            "--Cdp:Syncs:newsletter:Destination=mc",
            "--Cdp:Syncs:newsletter:Cron=0 3 * * *",
            "--Cdp:Syncs:newsletter:FieldMappings:FNAME=traits.first_name",
            "--Cdp:Syncs:newsletter:MaxRemovalShare=0.5",
            "--Cdp:Destinations:meta:Type=MetaCustomAudience",
            $"--Cdp:Destinations:meta:BaseUrl={meta.Url}",
            $"--Cdp:Destinations:meta:AccessToken={MetaCompatibleFake.Token}",
            "--Cdp:Destinations:meta:AdAccountId=1234567890",
            "--Cdp:Destinations:meta:Identifiers:EMAIL=traits.email",
            "--Cdp:Destinations:meta:Identifiers:PHONE=traits.phone",
            "--Cdp:Destinations:meta:Identifiers:FN=traits.first_name",
            "--Cdp:Syncs:ads:Segment=everyone",
            "--Cdp:Syncs:ads:Destination=meta",
            "--Cdp:Syncs:ads:Enabled=false",
            "--Cdp:Syncs:ads:ConsentPurpose=marketing",
            "--Cdp:Destinations:gads:Type=GoogleCustomerMatch",
            $"--Cdp:Destinations:gads:BaseUrl={google.Url}",
            $"--Cdp:Destinations:gads:TokenUrl={google.Url}/token",
            "--Cdp:Destinations:gads:CustomerId=1234567890",
            "--Cdp:Destinations:gads:UserListId=555",
            "--Cdp:Destinations:gads:DeveloperToken=bench-dev-token",
            "--Cdp:Destinations:gads:ClientId=bench-client",
            "--Cdp:Destinations:gads:ClientSecret=bench-secret",
            "--Cdp:Destinations:gads:RefreshToken=bench-refresh",
            "--Cdp:Destinations:gads:PollInterval=00:00:00.050",
            "--Cdp:Destinations:gads:AdUserDataConsent=marketing",
            "--Cdp:Destinations:gads:AdPersonalizationConsent=marketing",
            "--Cdp:Syncs:gads:Segment=everyone",
            "--Cdp:Syncs:gads:Destination=gads",
            "--Cdp:Syncs:gads:Enabled=false",
            "--Cdp:Syncs:gads:ConsentPurpose=marketing",
            "--Cdp:Syncs:gads:FieldMappings:firstName=traits.first_name",
            .. storage,
        ]);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<ISegmentMembership>(segment);
        var app = CdpApp.Build(builder);
        await app.StartAsync();
        try
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            using var tracking = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(5) };
            tracking.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(WriteKey + ":")));

            var seed = Stopwatch.StartNew();
            await IdentifyAsync(tracking, Enumerable.Range(1, members).Select(i => (i, $"First{i}")));
            await ProcessedAsync(app);
            seed.Stop();
            segment.Ids = Enumerable.Range(1, members).Select(i => ProfileIds.Format(i)).Order(StringComparer.Ordinal).ToList();
            Console.WriteLine($"   seeded {members:N0} profiles through /v1 and the processor in {seed.Elapsed.TotalSeconds:N1} s");

            var syncs = app.Services.GetRequiredService<ISyncOperations>();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var heapBefore = GC.GetTotalMemory(false);
            using var sampler = new PeakSampler();
            var first = Stopwatch.StartNew();
            var run = await syncs.RunAsync("newsletter", new SyncRunRequest("bench"), CancellationToken.None);
            first.Stop();
            sampler.Stop();
            var heapAfter = GC.GetTotalMemory(true);
            if (run.Status != SyncRunStatus.Succeeded || run.Counts.Added != members)
                throw new InvalidOperationException($"first sync: {run.Status}, added {run.Counts.Added}: {string.Join("; ", run.Errors)}");
            if (fake.Members != members) throw new InvalidOperationException($"the fake holds {fake.Members} members, expected {members}");

            // 1% change: 0.5% get a new first name (updates), 0.5% leave the segment (removals).
            var changed = members / 200;
            await IdentifyAsync(tracking, Enumerable.Range(1, changed).Select(i => (i * 7 % members + 1, $"Renamed{i}")));
            await ProcessedAsync(app);
            var leavers = Enumerable.Range(1, changed).Select(i => ProfileIds.Format(i * 13 % members + 1)).ToHashSet();
            segment.Ids = segment.Ids.Where(id => !leavers.Contains(id)).ToList();
            var delta = Stopwatch.StartNew();
            var second = await syncs.RunAsync("newsletter", new SyncRunRequest("bench"), CancellationToken.None);
            delta.Stop();
            if (second.Status != SyncRunStatus.Succeeded) throw new InvalidOperationException($"delta sync: {second.Status}: {string.Join("; ", second.Errors)}");
            Console.WriteLine($"   delta: {second.Counts.Updated:N0} updated, {second.Counts.Removed:N0} removed, {second.Counts.Unchanged:N0} unchanged, {second.Counts.Batches:N0} batches");

            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var metaHeapBefore = GC.GetTotalMemory(false);
            using var metaSampler = new PeakSampler();
            var metaFirst = Stopwatch.StartNew();
            var metaRun = await syncs.RunAsync("ads", new SyncRunRequest("bench"), CancellationToken.None);
            metaFirst.Stop();
            metaSampler.Stop();
            if (metaRun.Status != SyncRunStatus.Succeeded || metaRun.Counts.Added != members - changed)
                throw new InvalidOperationException($"Meta first sync: {metaRun.Status}, added {metaRun.Counts.Added}: {string.Join("; ", metaRun.Errors)}");
            if (meta.Rows != members - changed) throw new InvalidOperationException($"the Meta fake holds {meta.Rows} rows, expected {members - changed}");
            Console.WriteLine($"   Meta: {metaRun.Counts.Added:N0} members in {metaRun.Counts.Batches:N0} calls");
            // Google Customer Match, first sync of the same members (email + first name hashed; no address: no last name).
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var googleHeapBefore = GC.GetTotalMemory(false);
            using var googleSampler = new PeakSampler();
            var googleWatch = Stopwatch.StartNew();
            var googleRun = await syncs.RunAsync("gads", new SyncRunRequest("bench"), CancellationToken.None);
            googleWatch.Stop();
            googleSampler.Stop();
            if (googleRun.Status != SyncRunStatus.Succeeded || googleRun.Counts.Added != segment.Ids.Count || google.Operations != segment.Ids.Count)
                throw new InvalidOperationException($"Google sync: {googleRun.Status}, added {googleRun.Counts.Added}, fake {google.Operations}: {string.Join("; ", googleRun.Errors)}");
            Console.WriteLine($"   Google Customer Match: {googleRun.Counts.Added:N0} members in {google.AddRequests} addOperations requests, one job");

            var raw = await RawUpsertsAsync(fake.Url, members);
            return
            [
                new BenchFigure($"Meta first sync, {members - changed:N0} members", metaFirst.Elapsed.TotalSeconds, "s", Target: 60, CeilingName: "Mailchimp first sync", Ceiling: first.Elapsed.TotalSeconds, LowerIsBetter: true),
                new BenchFigure("Meta peak managed heap during first sync", metaSampler.PeakManaged / 1048576.0, "MB", CeilingName: "heap before the sync", Ceiling: metaHeapBefore / 1048576.0, LowerIsBetter: true),
                new BenchFigure("Meta peak RSS during first sync", metaSampler.PeakRss / 1048576.0, "MB", Target: 2048, LowerIsBetter: true),
                new BenchFigure($"first sync, {members:N0} members", first.Elapsed.TotalSeconds, "s", Target: 60, CeilingName: "raw 500-member POSTs to the fake", Ceiling: raw, LowerIsBetter: true),
                new BenchFigure("first sync throughput", members / first.Elapsed.TotalSeconds, "members/s"),
                new BenchFigure("delta sync after a 1% change", delta.Elapsed.TotalSeconds, "s", CeilingName: "first sync", Ceiling: first.Elapsed.TotalSeconds, LowerIsBetter: true),
                new BenchFigure("peak managed heap during first sync", sampler.PeakManaged / 1048576.0, "MB", CeilingName: "heap before the sync", Ceiling: heapBefore / 1048576.0, LowerIsBetter: true),
                new BenchFigure("live heap after first sync (forced GC)", heapAfter / 1048576.0, "MB", CeilingName: "heap before the sync", Ceiling: heapBefore / 1048576.0, LowerIsBetter: true),
                new BenchFigure("peak RSS during first sync", sampler.PeakRss / 1048576.0, "MB", Target: 2048, LowerIsBetter: true),
                new BenchFigure($"Google Customer Match first sync, {segment.Ids.Count:N0} members", googleWatch.Elapsed.TotalSeconds, "s", CeilingName: "Mailchimp first sync", Ceiling: first.Elapsed.TotalSeconds, LowerIsBetter: true),
                new BenchFigure("Google Customer Match throughput", segment.Ids.Count / googleWatch.Elapsed.TotalSeconds, "members/s"),
                new BenchFigure("peak managed heap during Google sync", googleSampler.PeakManaged / 1048576.0, "MB", CeilingName: "heap before it", Ceiling: googleHeapBefore / 1048576.0, LowerIsBetter: true),
                new BenchFigure("peak RSS during Google sync", googleSampler.PeakRss / 1048576.0, "MB", Target: 2048, LowerIsBetter: true),
            ];
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task IdentifyAsync(HttpClient tracking, IEnumerable<(int User, string Name)> people)
    {
        var now = DateTime.UtcNow.ToString("O");
        await Parallel.ForEachAsync(people.Chunk(500), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (chunk, ct) =>
        {
            var sb = new StringBuilder("{\"batch\":[");
            foreach (var (user, name) in chunk)
                sb.Append($"{{\"type\":\"identify\",\"userId\":\"u{user}\",\"traits\":{{\"email\":\"person{user}@example.com\",\"phone\":\"+1 650 {user % 1000:D3} {user % 10000:D4}\",\"first_name\":\"{name}\",\"marketing_consent\":true}},\"timestamp\":\"{now}\"}},");
            sb.Length--;
            sb.Append("]}");
            while (true)
            {
                using var response = await tracking.PostAsync("/v1/batch", new StringContent(sb.ToString(), Encoding.UTF8, "application/json"), ct);
                if ((int)response.StatusCode == 429) { await Task.Delay(50, ct); continue; }
                response.EnsureSuccessStatusCode();
                break;
            }
        });
    }

    private static Task ProcessedAsync(WebApplication app) =>
        app.Services.GetRequiredService<IProfileProcessor>().WaitForCheckpointAsync(app.Services.GetRequiredService<IEventLog>().LastSequence, CancellationToken.None);

    /// <summary>The reference: the same number of 500-member upsert bodies POSTed straight to the fake, one at a time.</summary>
    private static async Task<double> RawUpsertsAsync(string url, int members)
    {
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("x:" + ApiKey)));
        var sw = Stopwatch.StartNew();
        for (var start = 1; start <= members; start += 500)
        {
            var body = JsonSerializer.Serialize(new
            {
                members = Enumerable.Range(start, Math.Min(500, members - start + 1)).Select(i => new { email_address = $"raw{i}@example.com", status_if_new = "subscribed", merge_fields = new { FNAME = $"First{i}" } }),
                update_existing = true,
            });
            using var response = await client.PostAsync(url + "/3.0/lists/list1", new StringContent(body, Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
        }
        return sw.Elapsed.TotalSeconds;
    }

    private sealed class AllProfiles : ISegmentMembership
    {
        public List<string> Ids { get; set; } = [];

        public bool Exists(string segmentKey) => true;

        public IEnumerable<string> Members(string segmentKey) => Ids;

        public long Count(string segmentKey) => Ids.Count;

        public DateTime? LastEvaluated(string segmentKey) => DateTime.UtcNow;
    }

    /// <summary>Samples the managed heap and the process RSS every 20 ms.</summary>
    private sealed class PeakSampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public PeakSampler() => _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                PeakManaged = Math.Max(PeakManaged, GC.GetTotalMemory(false));
                using var p = Process.GetCurrentProcess();
                PeakRss = Math.Max(PeakRss, p.WorkingSet64);
                try { await Task.Delay(20, _stop.Token); } catch (OperationCanceledException) { }
            }
        });

        public long PeakManaged { get; private set; }

        public long PeakRss { get; private set; }

        public void Stop()
        {
            _stop.Cancel();
            _loop.Wait();
        }

        public void Dispose() => _stop.Dispose();
    }

    /// <summary>
    /// Just enough of the Google Ads API for a Customer Match sync: the OAuth token, job creation, addOperations (counted; at
    /// most 100,000 identifiers per request), run, and the status search answering SUCCESS.
    /// </summary>
    private sealed class GoogleAdsCompatibleFake : IDisposable
    {
        private readonly WireMockServer _server = WireMockServer.Start(new WireMock.Settings.WireMockServerSettings { MaxRequestLogCount = 1 });
        private readonly object _gate = new();
        private int _operations, _requests;

        private static ResponseMessage Answer(int status, string body) => MailchimpCompatibleFake.Answer(status, body);

        public GoogleAdsCompatibleFake() =>
            _server.Given(Request.Create().UsingAnyMethod()).RespondWith(Response.Create().WithCallback(Respond));

        public string Url => _server.Url!;

        public int Operations { get { lock (_gate) return _operations; } }

        public int AddRequests { get { lock (_gate) return _requests; } }

        private IResponseMessage Respond(IRequestMessage r)
        {
            if (r.Path == "/token") return Answer(200, "{\"access_token\":\"ya29.bench\",\"expires_in\":3599,\"token_type\":\"Bearer\"}");
            if (r.Path.EndsWith(":create", StringComparison.Ordinal)) return Answer(200, "{\"resourceName\":\"customers/1234567890/offlineUserDataJobs/1\"}");
            if (r.Path.EndsWith(":addOperations", StringComparison.Ordinal))
            {
                var operations = JsonNode.Parse(r.Body!)!["operations"]!.AsArray();
                if (operations.Sum(o => o!["create"]?["userIdentifiers"]?.AsArray().Count ?? 0) > 100_000) return Answer(400, "{\"error\":{\"code\":400,\"status\":\"INVALID_ARGUMENT\"}}");
                lock (_gate) { _operations += operations.Count; _requests++; }
                return Answer(200, "{}");
            }
            if (r.Path.EndsWith(":run", StringComparison.Ordinal)) return Answer(200, "{\"name\":\"customers/1234567890/operations/1\"}");
            return Answer(200, "{\"results\":[{\"offlineUserDataJob\":{\"resourceName\":\"customers/1234567890/offlineUserDataJobs/1\",\"status\":\"SUCCESS\"}}]}");
        }

        public void Dispose() => _server.Dispose();
    }

    /// <summary>Just enough of Mailchimp for the sync: static segments, batch upserts (≤ 500), segment adds/removes. Counts members.</summary>
    private sealed class MailchimpCompatibleFake : IDisposable
    {
        private readonly WireMockServer _server = WireMockServer.Start(new WireMock.Settings.WireMockServerSettings { MaxRequestLogCount = 1 }); // no request log: its memory is not the sync's
        private readonly HashSet<string> _members = new(StringComparer.Ordinal);
        private readonly object _gate = new();

        public MailchimpCompatibleFake() =>
            _server.Given(Request.Create().UsingAnyMethod()).RespondWith(Response.Create().WithCallback(Respond));

        public string Url => _server.Url!;

        public int Members { get { lock (_gate) return _members.Count; } }

        private IResponseMessage Respond(IRequestMessage r)
        {
            string body;
            if (r.Method == "GET") body = "{\"segments\":[],\"total_items\":0}";
            else if (r.Path == "/3.0/lists/list1/segments") body = "{\"id\":1001,\"name\":\"cdp-newsletter\",\"type\":\"static\"}";
            else if (r.Path == "/3.0/lists/list1")
            {
                var members = JsonNode.Parse(r.Body!)!["members"]!.AsArray();
                if (members.Count > 500) return Answer(400, "{\"title\":\"Invalid Resource\",\"status\":400}");
                lock (_gate) foreach (var m in members) _members.Add(m!["email_address"]!.GetValue<string>());
                body = "{\"new_members\":[],\"updated_members\":[],\"errors\":[],\"error_count\":0}";
            }
            else body = "{\"members_added\":[],\"members_removed\":[],\"errors\":[],\"error_count\":0}";
            return Answer(200, body);
        }

        internal static ResponseMessage Answer(int status, string body) => new()
        {
            StatusCode = status,
            Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json") },
            BodyData = new BodyData { BodyAsString = body, DetectedBodyType = BodyType.String, Encoding = Encoding.UTF8 },
        };

        public void Dispose() => _server.Dispose();
    }

    /// <summary>Just enough of Meta's Marketing API for a first sync: audience creation, POST /{audience}/users (≤ 10,000 rows). Counts distinct EMAIL hashes.</summary>
    private sealed class MetaCompatibleFake : IDisposable
    {
        public const string Token = "EAAbenchtoken0123456789";

        private readonly WireMockServer _server = WireMockServer.Start(new WireMock.Settings.WireMockServerSettings { MaxRequestLogCount = 1, DisableJsonBodyParsing = true }); // its 10,000-row bodies are parsed once, here, not also by WireMock
        private readonly HashSet<string> _rows = new(StringComparer.Ordinal);
        private readonly object _gate = new();

        public MetaCompatibleFake() =>
            _server.Given(Request.Create().UsingAnyMethod()).RespondWith(Response.Create().WithCallback(Respond));

        public string Url => _server.Url!;

        public int Rows { get { lock (_gate) return _rows.Count; } }

        private IResponseMessage Respond(IRequestMessage r)
        {
            if (!(r.Headers?.TryGetValue("Authorization", out var auth) == true && auth.Contains("Bearer " + Token)))
                return MailchimpCompatibleFake.Answer(400, "{\"error\":{\"message\":\"Invalid OAuth access token\",\"type\":\"OAuthException\",\"code\":190}}");
            if (r.Path.EndsWith("/customaudiences", StringComparison.Ordinal)) return MailchimpCompatibleFake.Answer(200, "{\"id\":\"23850000000000001\"}");
            var payload = JsonNode.Parse(r.Body!)!["payload"]!;
            var data = payload["data"]!.AsArray();
            if (data.Count > 10_000) return MailchimpCompatibleFake.Answer(400, "{\"error\":{\"message\":\"(#100) Too many users\",\"type\":\"OAuthException\",\"code\":100}}");
            var email = payload["schema"]!.AsArray().Select(n => n!.GetValue<string>()).ToList().IndexOf("EMAIL");
            lock (_gate) foreach (var row in data) _rows.Add(row![email]!.GetValue<string>());
            return MailchimpCompatibleFake.Answer(200, $"{{\"audience_id\":\"23850000000000001\",\"num_received\":{data.Count},\"num_invalid_entries\":0,\"invalid_entry_samples\":{{}}}}");
        }

        public void Dispose() => _server.Dispose();
    }
}

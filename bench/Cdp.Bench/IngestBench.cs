using System.Security.Cryptography;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Cdp.Host;
using Cdp.Modules.Profiles.Contracts;
using LiteDB;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Bench;

/// <summary>
/// Ingest: /v1/track single events (durable ack) against a bare Kestrel endpoint that only parses the JSON,
/// and /v1/batch 500-event batches against raw LiteDB append, all in the same run.
/// </summary>
internal sealed class IngestBench : IBenchScenario
{
    internal const string WriteKey = "bench-write-key";
    private const int Concurrency = 256;
    private const string BrowserOrigin = "https://clinic.example";

    public string Name => "ingest";

    public async Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var figures = new List<BenchFigure>();
        var duration = context.Duration(10);

        // wrk (a separate C process) when installed: the in-process HttpClient generator takes about half of the
        // 2 cores, so both the ceiling and Cdp read lower with it
        var external = WrkLoad.Available;
        var trackTemplate = Encoding.UTF8.GetString(TrackTemplate);
        Task<LoadGenerator.Result> Track(WebApplication app, string? key) => external
            ? WrkLoad.RunAsync(Address(app), "/v1/track", key, Concurrency, duration, trackTemplate, context.WorkFolder)
            : LoadGenerator.RunAsync(Address(app), "/v1/track", key, Concurrency, duration, TrackBody);
        // batches stay in-process: wrk's Lua builds a 500-event body far slower than the server takes it in
        // (41.6k events/s with wrk against 77.5k in-process on the same machine)
        Task<LoadGenerator.Result> Batch(WebApplication app) => LoadGenerator.RunAsync(Address(app), "/v1/batch", WriteKey, 8, duration, BatchBody);
        // a browser on another origin: analytics.js's POST /v1/t, each after its CORS preflight (the worst case: browsers
        // cache a preflight for up to 2 hours); and the preflight alone. Pairs per second = events per second.
        Task<LoadGenerator.Result> Browser(WebApplication app, bool preflightOnly) => external
            ? WrkLoad.RunAsync(Address(app), "/v1/t", WriteKey, Concurrency, duration, trackTemplate, context.WorkFolder, BrowserOrigin, preflightOnly)
            : LoadGenerator.RunBrowserAsync(Address(app), "/v1/t", WriteKey, BrowserOrigin, Concurrency, duration, TrackBody, preflightOnly);
        double Pairs(LoadGenerator.Result r, bool preflightOnly) => external && !preflightOnly ? r.RequestsPerSecond / 2 : r.RequestsPerSecond;
        Console.WriteLine(external ? "   load generator: wrk (external process)" : "   load generator: in-process HttpClient (install the wrk package for the external one)");
        if (Environment.GetEnvironmentVariable("CDP_BENCH_INGEST_PART") == "suppression")
            return await SuppressionAsync(context, external, duration);
        if (Environment.GetEnvironmentVariable("CDP_BENCH_INGEST_PART") == "track")
        {
            // the single-event figure alone, beside its ceiling (e.g. to compare two builds: the ratio is the stable figure)
            LoadGenerator.Result bareOnly, trackOnly;
            await using (var bare = await StartBareKestrelAsync())
                bareOnly = await Track(bare, null);
            await using (var cdp = await StartCdpAsync(Path.Combine(context.WorkFolder, "t"), durable: false))
            {
                await cdp.Services.GetRequiredService<IProfileProcessor>().PauseAsync(CancellationToken.None);
                trackOnly = await Track(cdp, WriteKey);
                await cdp.StopAsync();
            }
            return
            [
                new BenchFigure("bare Kestrel JSON parse (ceiling)", bareOnly.RequestsPerSecond, "req/s"),
                new BenchFigure("/v1/track single events, ack after commit", trackOnly.RequestsPerSecond, "events/s",
                    Target: 20_000, CeilingName: "bare Kestrel", Ceiling: bareOnly.RequestsPerSecond, RatioTarget: 0.35),
                new BenchFigure("/v1/track latency p99", trackOnly.P99Ms, "ms", LowerIsBetter: true),
            ];
        }

        // ceiling 1: bare Kestrel + JSON parse
        LoadGenerator.Result ceiling;
        await using (var bare = await StartBareKestrelAsync())
            ceiling = await Track(bare, null);

        // Collection alone (processor paused: events are acknowledged and wait in the log), as the collection figures are
        // defined; then the same loads with the processor running beside them on the same two cores. Every event of the
        // track load is a new person (a new profile, identifiers and timeline), the processor's most expensive case.
        LoadGenerator.Result single, durable, batch, singleMixed, batchMixed, preflights, browserPairs, sendGrid;
        long lagAfterTrack, lagAfterBatch;
        await using (var cdp = await StartCdpAsync(Path.Combine(context.WorkFolder, "a"), durable: false))
        {
            var processor = cdp.Services.GetRequiredService<IProfileProcessor>();
            await processor.PauseAsync(CancellationToken.None);
            single = await Track(cdp, WriteKey);
            batch = await Batch(cdp);
            sendGrid = await LoadGenerator.RunWithHeadersAsync(Address(cdp), "/v1/webhooks/sendgrid", 8, duration, SignedSendGridBody);
            preflights = await Browser(cdp, preflightOnly: true);
            browserPairs = await Browser(cdp, preflightOnly: false);
            await cdp.StopAsync();
        }
        await using (var cdp = await StartCdpAsync(Path.Combine(context.WorkFolder, "m"), durable: false))
        {
            var processor = cdp.Services.GetRequiredService<IProfileProcessor>();
            singleMixed = await Track(cdp, WriteKey);
            lagAfterTrack = Lag(processor);
            await processor.WaitForCheckpointAsync(processor.Status.LogHead, CancellationToken.None);
            batchMixed = await Batch(cdp);
            lagAfterBatch = Lag(processor);
            await cdp.StopAsync();
        }
        await using (var cdp = await StartCdpAsync(Path.Combine(context.WorkFolder, "b"), durable: true))
        {
            await cdp.Services.GetRequiredService<IProfileProcessor>().PauseAsync(CancellationToken.None);
            durable = await Track(cdp, WriteKey);
            await cdp.StopAsync();
        }

        var rawAppend = RawLiteDbAppend(Path.Combine(context.WorkFolder, "raw.db"), context.Quick ? 100_000 : 400_000);

        figures.Add(new BenchFigure("bare Kestrel JSON parse (ceiling)", ceiling.RequestsPerSecond, "req/s"));
        figures.Add(new BenchFigure("/v1/track single events, ack after commit", single.RequestsPerSecond, "events/s",
            Target: 20_000, CeilingName: "bare Kestrel", Ceiling: ceiling.RequestsPerSecond, RatioTarget: 0.35));
        figures.Add(new BenchFigure("/v1/track latency p50", single.P50Ms, "ms", LowerIsBetter: true));
        figures.Add(new BenchFigure("/v1/track latency p99", single.P99Ms, "ms", LowerIsBetter: true));
        figures.Add(new BenchFigure("CORS preflight OPTIONS /v1/t alone", Pairs(preflights, true), "req/s",
            CeilingName: "bare Kestrel", Ceiling: ceiling.RequestsPerSecond));
        figures.Add(new BenchFigure("browser: preflight + POST /v1/t pairs (uncached preflight)", Pairs(browserPairs, false), "events/s",
            CeilingName: "bare Kestrel", Ceiling: ceiling.RequestsPerSecond));
        figures.Add(new BenchFigure("/v1/track with DurableCommits (fsync)", durable.RequestsPerSecond, "events/s",
            CeilingName: "non-durable", Ceiling: single.RequestsPerSecond));
        figures.Add(new BenchFigure("/v1/track durable latency p99", durable.P99Ms, "ms", LowerIsBetter: true));
        figures.Add(new BenchFigure("/v1/batch 500-event batches", batch.RequestsPerSecond * 500, "events/s",
            Target: 100_000, CeilingName: "raw LiteDB append (1 doc/event)", Ceiling: rawAppend));
        figures.Add(new BenchFigure("/v1/batch latency p99", batch.P99Ms, "ms", LowerIsBetter: true));
        figures.Add(new BenchFigure("SendGrid webhook, signed arrays of 100 events", sendGrid.RequestsPerSecond * SendGridEventsPerRequest, "events/s",
            CeilingName: "/v1/batch", Ceiling: batch.RequestsPerSecond * 500));
        figures.Add(new BenchFigure("SendGrid webhook latency p99", sendGrid.P99Ms, "ms", LowerIsBetter: true));
        figures.Add(new BenchFigure("/v1/track while processing (each event a new person)", singleMixed.RequestsPerSecond, "events/s",
            CeilingName: "collection alone", Ceiling: single.RequestsPerSecond));
        figures.Add(new BenchFigure("/v1/track while processing: latency p99", singleMixed.P99Ms, "ms", LowerIsBetter: true));
        figures.Add(new BenchFigure("processor lag after the track load", lagAfterTrack, "events", LowerIsBetter: true));
        figures.Add(new BenchFigure("/v1/batch while processing", batchMixed.RequestsPerSecond * 500, "events/s",
            CeilingName: "collection alone", Ceiling: batch.RequestsPerSecond * 500));
        figures.Add(new BenchFigure("processor lag after the batch load", lagAfterBatch, "events", LowerIsBetter: true));
        var failures = single.Failures + batch.Failures + sendGrid.Failures + durable.Failures + singleMixed.Failures + batchMixed.Failures
            + preflights.Failures + browserPairs.Failures;
        figures.Add(new BenchFigure("non-200 answers during the runs", failures, "requests", Target: 0, LowerIsBetter: true));
        figures.AddRange(await PostgresCollectionAsync(context, figures, Track, Batch));
        return figures;
    }

    /// <summary>
    /// The collection loads (processor paused) once more with the host on a fresh PostgreSQL database, after the LiteDB runs:
    /// each figure beside LiteDB's of the same run. PostgreSQL waits for its WAL flush at every commit, so /v1/track is also
    /// put beside LiteDB with DurableCommits, the like-for-like figure.
    /// </summary>
    private static async Task<List<BenchFigure>> PostgresCollectionAsync(BenchContext context, List<BenchFigure> liteDb,
        Func<WebApplication, string?, Task<LoadGenerator.Result>> track, Func<WebApplication, Task<LoadGenerator.Result>> batch)
    {
        if (await BenchPostgres.HostSettingsAsync("/v1/track and /v1/batch") is not { } postgres) return [];
        LoadGenerator.Result single, batches;
        await using (var cdp = await StartCdpAsync(Path.Combine(context.WorkFolder, "p"), durable: false, postgres))
        {
            await cdp.Services.GetRequiredService<IProfileProcessor>().PauseAsync(CancellationToken.None);
            single = await track(cdp, WriteKey);
            batches = await batch(cdp);
            await cdp.StopAsync();
        }
        // PostgreSQL runs last, on a warmer process (JIT, the load generator's connections): the same loads on LiteDB once
        // more after it say how much of a difference is the order alone
        LoadGenerator.Result singleAgain, batchesAgain;
        await using (var cdp = await StartCdpAsync(Path.Combine(context.WorkFolder, "a2"), durable: false))
        {
            await cdp.Services.GetRequiredService<IProfileProcessor>().PauseAsync(CancellationToken.None);
            singleAgain = await track(cdp, WriteKey);
            batchesAgain = await batch(cdp);
            await cdp.StopAsync();
        }
        BenchFigure Lite(string name) => liteDb.Single(f => f.Name == name);
        return
        [
            BenchPostgres.Beside(Lite("/v1/track single events, ack after commit"),
                new BenchFigure("/v1/track single events, ack after commit", single.RequestsPerSecond, "events/s", Target: 20_000)),
            BenchPostgres.Beside(Lite("/v1/track with DurableCommits (fsync)"),
                new BenchFigure("/v1/track with DurableCommits (fsync)", single.RequestsPerSecond, "events/s")),
            BenchPostgres.Beside(Lite("/v1/track latency p99"), new BenchFigure("/v1/track latency p99", single.P99Ms, "ms", LowerIsBetter: true)),
            BenchPostgres.Beside(Lite("/v1/batch 500-event batches"),
                new BenchFigure("/v1/batch 500-event batches", batches.RequestsPerSecond * 500, "events/s", Target: 100_000)),
            BenchPostgres.Beside(Lite("/v1/batch latency p99"), new BenchFigure("/v1/batch latency p99", batches.P99Ms, "ms", LowerIsBetter: true)),
            new BenchFigure("/v1/track single events, LiteDB again after PostgreSQL (order check)", singleAgain.RequestsPerSecond, "events/s",
                CeilingName: "LiteDB, first", Ceiling: Lite("/v1/track single events, ack after commit").Value),
            new BenchFigure("/v1/batch 500-event batches, LiteDB again after PostgreSQL (order check)", batchesAgain.RequestsPerSecond * 500, "events/s",
                CeilingName: "LiteDB, first", Ceiling: Lite("/v1/batch 500-event batches").Value),
            new BenchFigure("non-200 answers during the runs, PostgreSQL", single.Failures + batches.Failures + singleAgain.Failures + batchesAgain.Failures, "requests", Target: 0, LowerIsBetter: true),
        ];
    }

    /// <summary>
    /// The cost of the suppression check (issue 22: every field, any spelling) on /v1/track: the same load, events carrying an
    /// email in context.traits and properties, once with an empty suppression list (the check costs one flag read) and once
    /// with 10,000 emails, 1,000 phones and 1,000 user ids suppressed (every event is parsed and every email- or phone-shaped
    /// value normalised and hashed). Collection alone (processor paused), one host per run. CDP_BENCH_INGEST_PART=suppression.
    /// </summary>
    private static async Task<IReadOnlyList<BenchFigure>> SuppressionAsync(BenchContext context, bool external, TimeSpan duration)
    {
        var template = Encoding.UTF8.GetString(TrackTemplate)
            .Replace("\"title\":\"Acne treatment\"", "\"title\":\"Acne treatment\",\"email\":\"Visitor.{n}@gmail.com\"")
            .Replace("\"locale\":\"en-GB\"", "\"locale\":\"en-GB\",\"traits\":{\"email\":\"visitor-{n}@example.com\",\"plan\":\"basic\"}");
        if (!template.Contains("Visitor.{n}") || !template.Contains("visitor-{n}")) throw new InvalidOperationException("the email fields were not added to the template");
        byte[] Body(long n) => Encoding.UTF8.GetBytes(template.Replace("{n}", n.ToString()));
        Task<LoadGenerator.Result> Track(WebApplication app) => external
            ? WrkLoad.RunAsync(Address(app), "/v1/track", WriteKey, Concurrency, duration, template, context.WorkFolder)
            : LoadGenerator.RunAsync(Address(app), "/v1/track", WriteKey, Concurrency, duration, Body);

        LoadGenerator.Result ceiling, empty, suppressed;
        await using (var bare = await StartBareKestrelAsync())
            ceiling = await (external
                ? WrkLoad.RunAsync(Address(bare), "/v1/track", null, Concurrency, duration, template, context.WorkFolder)
                : LoadGenerator.RunAsync(Address(bare), "/v1/track", null, Concurrency, duration, Body));
        await using (var cdp = await StartCdpAsync(Path.Combine(context.WorkFolder, "s0"), durable: false))
        {
            await cdp.Services.GetRequiredService<IProfileProcessor>().PauseAsync(CancellationToken.None);
            empty = await Track(cdp);
            await cdp.StopAsync();
        }
        await using (var cdp = await StartCdpAsync(Path.Combine(context.WorkFolder, "s1"), durable: false))
        {
            await cdp.Services.GetRequiredService<IProfileProcessor>().PauseAsync(CancellationToken.None);
            var list = cdp.Services.GetRequiredService<Cdp.Modules.Governance.Privacy.SuppressionList>();
            var keys = Enumerable.Range(0, 10_000).Select(i => $"email:deleted{i}@example.com")
                .Concat(Enumerable.Range(0, 1_000).Select(i => $"phone:+1650{2_000_000 + i:D7}"))
                .Concat(Enumerable.Range(0, 1_000).Select(i => $"user_id:deleted-{i}")).ToList();
            cdp.Services.GetRequiredService<Cdp.Modules.Shared.Storage.IUnitOfWorkFactory>().InTransaction(tx => list.Add(tx, keys, null, DateTime.UtcNow));
            suppressed = await Track(cdp);
            if (cdp.Services.GetRequiredService<Cdp.Modules.Collection.Contracts.IEventLog>().LastSequence == 0)
                throw new InvalidOperationException("nothing was stored: the bench events must not be suppressed");
            await cdp.StopAsync();
        }
        return
        [
            new BenchFigure("bare Kestrel JSON parse (ceiling), events with emails", ceiling.RequestsPerSecond, "req/s"),
            new BenchFigure("/v1/track, events with emails, suppression list empty", empty.RequestsPerSecond, "events/s",
                CeilingName: "bare Kestrel", Ceiling: ceiling.RequestsPerSecond),
            new BenchFigure("/v1/track, the same with 12,000 identifiers suppressed (every field scanned)", suppressed.RequestsPerSecond, "events/s",
                CeilingName: "suppression list empty", Ceiling: empty.RequestsPerSecond),
            new BenchFigure("/v1/track latency p99, suppression list empty", empty.P99Ms, "ms", LowerIsBetter: true),
            new BenchFigure("/v1/track latency p99, 12,000 suppressed", suppressed.P99Ms, "ms", LowerIsBetter: true),
            new BenchFigure("non-200 answers during the runs", empty.Failures + suppressed.Failures + ceiling.Failures, "requests", Target: 0, LowerIsBetter: true),
        ];
    }

    private static long Lag(IProfileProcessor processor) => Math.Max(0, processor.Status.LogHead - processor.Status.Checkpoint);

    internal static readonly byte[] TrackTemplate = Encoding.UTF8.GetBytes(
        """{"userId":"user-{n}","anonymousId":"2f0c8c52-8f3e-4c8e-9d35-{n}","event":"Page Viewed","properties":{"path":"/dermatology/acne","title":"Acne treatment","referrer":"https://www.google.com/","url":"https://clinic.example/dermatology/acne"},"context":{"library":{"name":"analytics.js","version":"5.2.0"},"ip":"203.0.113.7","locale":"en-GB","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15","page":{"path":"/dermatology/acne"}},"messageId":"bench-{n}","timestamp":"2026-11-28T10:00:00.000Z","sentAt":"2026-11-28T10:00:00.100Z"}""");

    internal static byte[] TrackBody(long n) => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(TrackTemplate).Replace("{n}", n.ToString()));

    /// <summary>
    /// A 500-event batch with unique ids: the body is built once with fixed-width id slots, and each request copies it and
    /// writes its ids into the slots. Building it with string replaces took a large share of the 2 cores the server needs.
    /// </summary>
    internal static byte[] BatchBody(long n) => BatchTemplate.Value.Make(n);

    private static readonly Lazy<PatchedBody> BatchTemplate = new(() =>
    {
        var sb = new StringBuilder("{\"batch\":[");
        var item = "{\"type\":\"track\"," + Encoding.UTF8.GetString(TrackTemplate)[1..];
        for (var i = 0; i < 500; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(item.Replace("{n}", PatchedBody.Slot + "-" + i.ToString("D3")));
        }
        return new PatchedBody(Encoding.UTF8.GetBytes(sb.Append("]}").ToString()));
    });

    /// <summary>SendGrid posts its events in arrays; 100 per request is a busy account's typical delivery.</summary>
    private const int SendGridEventsPerRequest = 100;

    private static readonly Lazy<ECDsa> SendGridKey = new(() => ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Each load worker signs with its own copy of the key (an ECDsa object is not for concurrent use).</summary>
    private static readonly ThreadLocal<ECDsa> SignerPerThread = new(() =>
    {
        var signer = ECDsa.Create();
        signer.ImportParameters(SendGridKey.Value.ExportParameters(includePrivateParameters: true));
        return signer;
    });

    /// <summary>
    /// A SendGrid-shaped delivery: 100 open/click/delivered events of 100 new people with unique sg_event_ids, signed as the
    /// Signed Event Webhook signs (ECDSA P-256 over the timestamp and the body). The signing is the load generator's cost.
    /// </summary>
    private static (byte[] Body, (string, string)[] Headers) SignedSendGridBody(long n)
    {
        var body = SendGridTemplate.Value.Make(n);
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var signed = new byte[timestamp.Length + body.Length];
        Encoding.ASCII.GetBytes(timestamp, signed);
        body.CopyTo(signed, timestamp.Length);
        var signature = SignerPerThread.Value!.SignData(signed, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return (body, [("X-Twilio-Email-Event-Webhook-Signature", Convert.ToBase64String(signature)), ("X-Twilio-Email-Event-Webhook-Timestamp", timestamp)]);
    }

    private static readonly Lazy<PatchedBody> SendGridTemplate = new(() =>
    {
        string[] events = ["delivered", "open", "click"];
        var sb = new StringBuilder("[");
        for (var i = 0; i < SendGridEventsPerRequest; i++)
        {
            if (i > 0) sb.Append(",\r\n");
            var id = PatchedBody.Slot + "-" + i.ToString("D3");
            var ev = events[i % 3];
            sb.Append($$"""{"email":"person-{{id}}@clinic.example","timestamp":1764583200,"smtp-id":"<{{id}}@ismtpd-555>","event":"{{ev}}","category":["newsletter","dermatology"],"sg_event_id":"ev-{{id}}","sg_message_id":"msg-{{PatchedBody.Slot}}.filterdrecv-p3mdw1","useragent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15","ip":"203.0.113.7"{{(ev == "click" ? ",\"url\":\"https://clinic.example/dermatology/acne\"" : "")}}{{(ev == "open" ? ",\"sg_machine_open\":false" : "")}}}""");
        }
        return new PatchedBody(Encoding.UTF8.GetBytes(sb.Append("]\r\n").ToString()));
    });

    internal sealed class PatchedBody(byte[] template)
    {
        public const string Slot = "################"; // 16 digits of the request number
        private readonly int[] _slots = Find(template);

        public byte[] Make(long n)
        {
            var body = (byte[])template.Clone();
            Span<byte> digits = stackalloc byte[Slot.Length];
            var v = n < 0 ? -n + 1_000_000_000_000_000 : n; // warm-up requests (negative) get their own range
            for (var d = Slot.Length - 1; d >= 0; d--, v /= 10) digits[d] = (byte)('0' + v % 10);
            foreach (var at in _slots) digits.CopyTo(body.AsSpan(at));
            return body;
        }

        private static int[] Find(byte[] t)
        {
            var marker = Encoding.ASCII.GetBytes(Slot);
            var found = new List<int>();
            for (var at = t.AsSpan().IndexOf(marker); at >= 0;)
            {
                found.Add(at);
                var next = t.AsSpan(at + marker.Length).IndexOf(marker);
                at = next < 0 ? -1 : at + marker.Length + next;
            }
            return [.. found];
        }
    }

    /// <summary>Raw LiteDB append: one document per event, 500 per transaction, no secondary index.</summary>
    private static double RawLiteDbAppend(string path, int count)
    {
        using var db = new LiteDatabase(new ConnectionString { Filename = path, Connection = ConnectionType.Direct });
        var col = db.GetCollection("raw", BsonAutoId.Int64);
        var json = TrackBody(1);
        var sw = Stopwatch.StartNew();
        for (var done = 0; done < count; done += 500)
        {
            db.BeginTrans();
            col.Insert(Enumerable.Range(done, 500).Select(i => new BsonDocument { ["_id"] = (long)i + 1, ["s"] = "web", ["m"] = "bench-" + i, ["j"] = json }));
            db.Commit();
        }
        return count / sw.Elapsed.TotalSeconds;
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private static async Task<WebApplication> StartBareKestrelAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var success = "{\"success\":true}"u8.ToArray();
        app.MapPost("/v1/track", async ctx =>
        {
            using var ms = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(ms);
            using var doc = JsonDocument.Parse(ms.GetBuffer().AsMemory(0, (int)ms.Length));
            ctx.Response.ContentType = "application/json";
            await ctx.Response.Body.WriteAsync(success);
        });
        await app.StartAsync();
        return app;
    }

    private static async Task<WebApplication> StartCdpAsync(string folder, bool durable, string[]? storage = null)
    {
        Directory.CreateDirectory(folder);
        var builder = CdpApp.CreateBuilder([
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            $"--Cdp:Storage:Path={Path.Combine(folder, "cdp.db")}",
            $"--Cdp:Storage:DurableCommits={durable}",
            $"--Cdp:Sources:bench:WriteKey={WriteKey}",
            $"--Cdp:Sources:bench:AllowedOrigins:0={BrowserOrigin}",
            "--Cdp:Sources:sendgrid:Kind=SendGrid",
            $"--Cdp:Sources:sendgrid:PublicKey={Convert.ToBase64String(SendGridKey.Value.ExportSubjectPublicKeyInfo())}",
            "--Cdp:Collection:QueueCapacity=1000000",
            .. (Environment.GetEnvironmentVariable("CDP_BENCH_BATCH") is { } batch ? ["--Cdp:Profiles:BatchSize=" + batch] : Array.Empty<string>()),
            .. storage ?? [], // PostgreSQL: the provider and its connection string
        ]);
        builder.Logging.ClearProviders();
        var app = CdpApp.Build(builder);
        await app.StartAsync();
        return app;
    }
}

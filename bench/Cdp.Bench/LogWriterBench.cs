using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Collection.EventLog.LiteDb;
using Cdp.Modules.Collection.EventLog.PostgreSql;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Cdp.Bench;

/// <summary>
/// The ingest path without HTTP: normalise + validate one event (CPU per event), and the group-committing log
/// writer fed by many concurrent single-event submitters (what the HTTP figures are made of).
/// </summary>
internal sealed class LogWriterBench : IBenchScenario
{
    public string Name => "logwriter";

    public async Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var figures = new List<BenchFigure>();
        var json = Encoding.UTF8.GetBytes("""{"userId":"user-1","anonymousId":"2f0c8c52-8f3e-4c8e-9d35-1","event":"Page Viewed","properties":{"path":"/dermatology/acne","title":"Acne treatment","referrer":"https://www.google.com/","url":"https://clinic.example/dermatology/acne"},"context":{"library":{"name":"analytics.js","version":"5.2.0"},"ip":"203.0.113.7","locale":"en-GB","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15","page":{"path":"/dermatology/acne"}},"messageId":"bench-1","timestamp":"2026-11-28T10:00:00.000Z","sentAt":"2026-11-28T10:00:00.100Z"}""");
        var normaliser = new EventNormaliser(new TrackingEventValidator());
        var n = context.Quick ? 50_000 : 300_000;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            using var doc = JsonDocument.Parse(json);
            normaliser.TryNormalise(doc.RootElement, 0, "track", default, DateTimeOffset.UtcNow, "web", out _, out _);
        }
        var normalisePerSec = n / sw.Elapsed.TotalSeconds;
        sw.Restart();
        for (var i = 0; i < n; i++)
        {
            using var doc = JsonDocument.Parse(json);
        }
        var parsePerSec = n / sw.Elapsed.TotalSeconds;
        var validator = new TrackingEventValidator();
        var te = new TrackingEvent { Type = "track", UserId = "u", Event = "E", MessageId = "m" };
        sw.Restart();
        for (var i = 0; i < n; i++) validator.Validate(te);
        figures.Add(new BenchFigure("FluentValidation of one event", n / sw.Elapsed.TotalSeconds, "events/s"));
        figures.Add(new BenchFigure("parse + normalise + validate, 1 thread", normalisePerSec, "events/s", CeilingName: "parse only", Ceiling: parsePerSec));

        var db = new CdpDatabase(Options.Create(new StorageOptions { Path = Path.Combine(context.WorkFolder, "w.db") }), NullLogger<CdpDatabase>.Instance);
        var lite = await WriterFigures(new LiteEventLogStore(db), "", json, context, sw);
        figures.AddRange(lite);
        db.Dispose();
        // PostgreSQL flushes its WAL at every commit: LiteDB with DurableCommits (fsync per commit) is the like-for-like figure
        var durableDb = new CdpDatabase(Options.Create(new StorageOptions { Path = Path.Combine(context.WorkFolder, "d.db"), DurableCommits = true }), NullLogger<CdpDatabase>.Instance);
        var durable = await WriterFigures(new LiteEventLogStore(durableDb), " (LiteDB, durable commits)", json, context, sw);
        figures.AddRange(durable);
        durableDb.Dispose();
        if (await BenchPostgres.CreateDatabaseAsync() is { } connectionString)
        {
            await using var database = new Cdp.Modules.Shared.Storage.PostgreSql.PostgresDatabase(connectionString);
            new Cdp.Modules.Shared.Storage.PostgreSql.SchemaMigrator(database, [new CollectionPostgresSchema()]).Apply();
            var pg = await WriterFigures(new PostgresEventLogStore(database), " on PostgreSQL", json, context, sw);
            // PostgreSQL's figures beside LiteDB's of the same run, as a ratio (the same machine, the same load)
            figures.AddRange(pg.Select((f, i) => f.Unit == "events/s" ? f with { CeilingName = "LiteDB durable", Ceiling = durable[i].Value } : f));
        }
        else figures.Add(new BenchFigure("log writer on PostgreSQL: skipped, " + BenchPostgres.WhyNot, 0, ""));
        return figures;
    }

    private static async Task<List<BenchFigure>> WriterFigures(IEventLogStore store, string on, byte[] json, BenchContext context, Stopwatch sw)
    {
        var figures = new List<BenchFigure>();
        var writer = new EventLogWriter(store, new LogHead(), TimeProvider.System, Options.Create(new CollectionOptions { QueueCapacity = 1_000_000 }), NullLogger<EventLogWriter>.Instance);
        await writer.StartAsync(default);
        foreach (var concurrency in new[] { 64, 256 })
        {
            long count = 0;
            var commits0 = writer.Commits; var ticks0 = writer.CommitTicks;
            var stopAt = Stopwatch.GetTimestamp() + (long)(context.Duration(5).TotalSeconds * Stopwatch.Frequency);
            sw.Restart();
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
            {
                while (Stopwatch.GetTimestamp() < stopAt)
                {
                    var k = Interlocked.Increment(ref count);
                    await writer.SubmitAsync([new AcceptedEvent("web", $"m{concurrency}-{k}", json)], []);
                }
            })));
            figures.Add(new BenchFigure($"log writer{on}, {concurrency} concurrent 1-event submits", count / sw.Elapsed.TotalSeconds, "events/s"));
            var commits = writer.Commits - commits0;
            figures.Add(new BenchFigure($"  events per group commit", (double)count / commits, "events"));
            figures.Add(new BenchFigure($"  time in the store per commit", (writer.CommitTicks - ticks0) * 1000.0 / Stopwatch.Frequency / commits, "ms"));
            figures.Add(new BenchFigure($"  share of wall time in the store", (writer.CommitTicks - ticks0) * 1.0 / Stopwatch.Frequency / sw.Elapsed.TotalSeconds, ""));
        }
        await writer.StopAsync(default);
        return figures;
    }
}

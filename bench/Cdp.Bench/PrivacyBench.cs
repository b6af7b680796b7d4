using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.Ingest;
using Cdp.Modules.Governance.Privacy;
using Cdp.Modules.Identity;
using Cdp.Modules.Identity.Identifiers;
using Cdp.Modules.Shared.Storage;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Cdp.Bench;

/// <summary>
/// The suppression check on the ingest path (one thread): an event checked against 10,000 suppressed identifiers, beside
/// what ingest already spends per event (parse + normalise + validate) in the same run. An empty list costs one flag read.
/// </summary>
internal sealed class PrivacyBench : IBenchScenario
{
    public string Name => "privacy";

    public Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var figures = new List<BenchFigure>();
        var raw = Encoding.UTF8.GetBytes("""{"userId":"user-1","anonymousId":"2f0c8c52-8f3e-4c8e-9d35-1","event":"Page Viewed","properties":{"path":"/dermatology/acne","title":"Acne treatment"},"context":{"library":{"name":"analytics.js","version":"5.2.0"},"ip":"203.0.113.7","traits":{"email":"Jane.Doe@example.com","phone":"+1 650 253 0000"},"page":{"path":"/dermatology/acne"}},"messageId":"bench-1","timestamp":"2026-11-28T10:00:00.000Z"}""");
        var normaliser = new EventNormaliser(new TrackingEventValidator());
        var n = context.Quick ? 20_000 : 200_000;
        byte[] normalised = [];
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            using var doc = JsonDocument.Parse(raw);
            normaliser.TryNormalise(doc.RootElement, 0, "track", default, DateTimeOffset.UtcNow, "web", out var ok, out _);
            normalised = ok!.Json;
        }
        var ingestPerSec = n / sw.Elapsed.TotalSeconds;

        using var db = new CdpDatabase(Options.Create(new StorageOptions { Path = Path.Combine(context.WorkFolder, "p.db") }), NullLogger<CdpDatabase>.Instance);
        var list = new SuppressionList(db, new IdentifierReader(Options.Create(new IdentityOptions())));
        var empty = 0L;
        sw.Restart();
        for (var i = 0; i < n; i++) if (list.Refuses(normalised)) empty++;
        var emptyPerSec = n / sw.Elapsed.TotalSeconds;
        db.InTransaction(d => list.Add(d, Enumerable.Range(0, 10_000).Select(i => $"email:someone{i}@example.com"), null, DateTime.UtcNow));
        var refused = 0L;
        sw.Restart();
        for (var i = 0; i < n; i++) if (list.Refuses(normalised)) refused++;
        var checkPerSec = n / sw.Elapsed.TotalSeconds;
        if (refused + empty != 0) throw new InvalidOperationException("the bench event must not be suppressed");

        figures.Add(new BenchFigure("ingest CPU per event (parse + normalise + validate), 1 thread", ingestPerSec, "events/s"));
        figures.Add(new BenchFigure("suppression check, empty list", emptyPerSec, "events/s", CeilingName: "ingest CPU", Ceiling: ingestPerSec));
        figures.Add(new BenchFigure("suppression check, 10k suppressed (parse + 4 identifiers + SHA-256 each)", checkPerSec, "events/s",
            CeilingName: "ingest CPU", Ceiling: ingestPerSec));
        figures.Add(new BenchFigure("  added CPU per event vs ingest", ingestPerSec / checkPerSec, "x ingest CPU", LowerIsBetter: true));
        return Task.FromResult<IReadOnlyList<BenchFigure>>(figures);
    }
}

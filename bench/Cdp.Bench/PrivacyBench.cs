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
        for (var i = 0; i < n + n / 4; i++)
        {
            if (i == n / 4) sw.Restart(); // the first quarter warms the JIT up
            using var doc = JsonDocument.Parse(raw);
            normaliser.TryNormalise(doc.RootElement, 0, "track", default, DateTimeOffset.UtcNow, "web", out var ok, out _);
            normalised = ok!.Json;
        }
        var ingestPerSec = n / sw.Elapsed.TotalSeconds;

        using var db = new CdpDatabase(Options.Create(new StorageOptions { Path = Path.Combine(context.WorkFolder, "p.db") }), NullLogger<CdpDatabase>.Instance);
        var list = new SuppressionList(new Cdp.Modules.Governance.Privacy.LiteDb.LitePrivacyStore(db), new IdentifierReader(Options.Create(new IdentityOptions())));
        var empty = 0L;
        sw.Restart();
        for (var i = 0; i < n; i++) if (list.Refuses(normalised)) empty++;
        var emptyPerSec = n / sw.Elapsed.TotalSeconds;
        db.InTransaction(d => list.Add(d, Enumerable.Range(0, 10_000).Select(i => $"email:someone{i}@example.com"), null, DateTime.UtcNow));
        var emailsOnly = 0L;
        for (var i = 0; i < n / 4; i++) emailsOnly += list.Refuses(normalised) ? 1 : 0;
        sw.Restart();
        for (var i = 0; i < n; i++) emailsOnly += list.Refuses(normalised) ? 1 : 0;
        var emailsOnlyPerSec = n / sw.Elapsed.TotalSeconds;
        // one suppressed phone: from now on every event's phone is normalised (libphonenumber, cached per raw text)
        db.InTransaction(d => list.Add(d, ["phone:+16502539999", "user_id:someone", "anonymous_id:someone"], null, DateTime.UtcNow));
        var refused = 0L;
        for (var i = 0; i < n / 4; i++) refused += list.Refuses(normalised) ? 1 : 0; // warm-up: tiered JIT, phone metadata
        sw.Restart();
        for (var i = 0; i < n; i++) if (list.Refuses(normalised)) refused++;
        var checkPerSec = n / sw.Elapsed.TotalSeconds;
        // the check as it was before issue 22 (same run): only the identifier fields identity reads, exact trait names
        var fieldsReader = new IdentifierReader(Options.Create(new IdentityOptions()));
        var suppressedTypes = new HashSet<string>(["email", "phone", "user_id", "anonymous_id"], StringComparer.Ordinal);
        bool FieldsOnly(byte[] json)
        {
            using var doc = JsonDocument.Parse(json);
            foreach (var key in fieldsReader.Identifiers(doc.RootElement, suppressedTypes.Contains)) if (list.Contains(key)) return true;
            return false;
        }
        for (var i = 0; i < n / 4; i++) refused += FieldsOnly(normalised) ? 1 : 0;
        sw.Restart();
        for (var i = 0; i < n; i++) if (FieldsOnly(normalised)) refused++;
        var fieldsOnlyPerSec = n / sw.Elapsed.TotalSeconds;
        // a different phone number on every event: the phone cache never hits
        var phones = Enumerable.Range(0, n).Select(i => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(normalised).Replace("650 253 0000", $"650 {2_000_000 + i:D7}"))).ToList();
        sw.Restart();
        for (var i = 0; i < n; i++) if (list.Refuses(phones[i])) refused++;
        var newPhonePerSec = n / sw.Elapsed.TotalSeconds;
        var noPhone = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(normalised).Replace("\"phone\":", "\"plan\":"));
        if (noPhone.AsSpan().SequenceEqual(normalised)) throw new InvalidOperationException("the phone trait was not replaced");
        sw.Restart();
        for (var i = 0; i < n; i++) if (list.Refuses(noPhone)) refused++;
        var noPhonePerSec = n / sw.Elapsed.TotalSeconds;
        var reader = new IdentifierReader(Options.Create(new IdentityOptions()));
        sw.Restart();
        for (var i = 0; i < n; i++) { using var doc = JsonDocument.Parse(normalised); _ = reader.Identifiers(doc.RootElement); }
        var extractPerSec = n / sw.Elapsed.TotalSeconds;
        if (refused + empty + emailsOnly != 0) throw new InvalidOperationException("the bench event must not be suppressed");

        figures.Add(new BenchFigure("ingest CPU per event (parse + normalise + validate), 1 thread", ingestPerSec, "events/s"));
        figures.Add(new BenchFigure("suppression check, empty list", emptyPerSec, "events/s", CeilingName: "ingest CPU", Ceiling: ingestPerSec));
        figures.Add(new BenchFigure("suppression check, 10k emails suppressed (parse + email only)", emailsOnlyPerSec, "events/s", CeilingName: "ingest CPU", Ceiling: ingestPerSec));
        figures.Add(new BenchFigure("suppression check, + a phone, user id, anonymous id (4 identifiers, SHA-256 each)", checkPerSec, "events/s",
            CeilingName: "ingest CPU", Ceiling: ingestPerSec));
        figures.Add(new BenchFigure("  the same check before issue 22 (identifier fields only, exact trait names)", fieldsOnlyPerSec, "events/s",
            CeilingName: "ingest CPU", Ceiling: ingestPerSec));
        figures.Add(new BenchFigure("  every field and spelling vs identifier fields only", fieldsOnlyPerSec / checkPerSec, "x the old check's CPU", LowerIsBetter: true));
        figures.Add(new BenchFigure("  a new phone number on every event (no cache hit)", newPhonePerSec, "events/s", CeilingName: "ingest CPU", Ceiling: ingestPerSec));
        figures.Add(new BenchFigure("  the same event without a phone trait", noPhonePerSec, "events/s", CeilingName: "ingest CPU", Ceiling: ingestPerSec));
        figures.Add(new BenchFigure("  of which parse + identifier extraction (no hashing)", extractPerSec, "events/s", CeilingName: "ingest CPU", Ceiling: ingestPerSec));
        figures.Add(new BenchFigure("  added CPU per event vs ingest", ingestPerSec / checkPerSec, "x ingest CPU", LowerIsBetter: true));
        return Task.FromResult<IReadOnlyList<BenchFigure>>(figures);
    }
}

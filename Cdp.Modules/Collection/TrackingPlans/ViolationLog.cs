using System.Text;
using System.Text.Json;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Collection.TrackingPlans;

/// <summary>
/// A violation of a stored (or blocked) call, as the ingest path hands it over after the commit: the example is made
/// while the request's JSON is alive (<see cref="ViolationExample.Json"/>).
/// </summary>
internal sealed record RecordedViolation(string Type, string Event, string Property, string Kind, string Example)
{
    public static RecordedViolation Of(string type, string @event, string messageId, PlanViolation v) =>
        new(type, @event, v.Property, v.Kind, ViolationExample.Json(messageId, v));
}

/// <summary>
/// The violations' counts per hour, source, call type, event, property and kind, each with its latest example, for the
/// last <see cref="Kept"/>. The ingest path adds to memory (one lock per request that has violations); every few seconds
/// the new counts are added to the store (<see cref="IViolationStore"/>), where every host's land, and a report reads
/// the store. Names from outside are cleaned and cut, and an hour holds at most <see cref="MaxKeysPerHour"/> distinct
/// violations per host, so a sender inventing names cannot grow the table without bound.
/// </summary>
[Service]
internal sealed class ViolationLog(IViolationStore store, TimeProvider clock, ILogger<ViolationLog> log) : BackgroundService
{
    public static readonly TimeSpan Kept = TimeSpan.FromDays(30);
    public const int MaxKeysPerHour = 2000;
    public const int MaxNameLength = 200;

    /// <summary>The event name counts beyond <see cref="MaxKeysPerHour"/> go to.</summary>
    public const string Overflow = "(more distinct violations this hour than are kept apart)";

    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private Dictionary<(long Hour, string Source, string Type, string Event, string Property, string Kind), Tally> _unsaved = [];
    private readonly Dictionary<long, int> _keysPerHour = [];
    private readonly Dictionary<(string Source, string Kind), long> _totals = [];

    private sealed class Tally
    {
        public long Count;
        public long LastAtTicks;
        public string Example = "";
    }

    /// <summary>Violations recorded since start, per source and kind (the metric).</summary>
    public IReadOnlyList<((string Source, string Kind) Key, long Count)> Totals
    {
        get { lock (_gate) return _totals.Select(t => (t.Key, t.Value)).ToList(); }
    }

    public void Record(string source, IReadOnlyList<RecordedViolation> violations)
    {
        if (violations.Count == 0) return;
        var now = clock.GetUtcNow().UtcDateTime;
        var hour = now.Ticks / TimeSpan.TicksPerHour;
        lock (_gate)
        {
            foreach (var v in violations)
            {
                var key = (hour, Clean(source), v.Type, Clean(v.Event), Clean(v.Property), v.Kind);
                if (!_unsaved.TryGetValue(key, out var tally))
                {
                    var kept = _keysPerHour.GetValueOrDefault(hour);
                    if (kept >= MaxKeysPerHour) key = (hour, key.Item2, v.Type, Overflow, "", v.Kind);
                    else _keysPerHour[hour] = kept + 1;
                    if (!_unsaved.TryGetValue(key, out tally)) _unsaved[key] = tally = new Tally();
                }
                tally.Count++;
                tally.LastAtTicks = now.Ticks;
                tally.Example = v.Example;
                _totals[(key.Item2, v.Kind)] = _totals.GetValueOrDefault((key.Item2, v.Kind)) + 1;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try { Flush(); }
                catch (Exception ex) when (ex is not OperationCanceledException) { log.LogWarning(ex, "Tracking plan violations: writing the counts failed; trying again"); }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try { Flush(); }
        catch (Exception ex) { log.LogWarning(ex, "Tracking plan violations: the last counts could not be written"); }
    }

    /// <summary>Adds the counts not yet stored to the store (kept for the next attempt when that fails) and forgets old hours.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            var oldest = (clock.GetUtcNow().UtcDateTime - Kept).Ticks / TimeSpan.TicksPerHour;
            var current = clock.GetUtcNow().UtcDateTime.Ticks / TimeSpan.TicksPerHour;
            foreach (var h in _keysPerHour.Keys.Where(h => h < current - 1).ToList()) _keysPerHour.Remove(h);
            if (_unsaved.Count == 0) return;
            store.Add(_unsaved.Select(u => new ViolationRow(u.Key.Hour, u.Key.Source, u.Key.Type, u.Key.Event, u.Key.Property, u.Key.Kind,
                u.Value.Count, u.Value.LastAtTicks, u.Value.Example)).ToList(), oldest);
            _unsaved = [];
        }
    }

    /// <summary>Every stored row from <paramref name="from"/> on, this host's unsaved counts included.</summary>
    public IReadOnlyList<ViolationRow> Rows(DateTime from)
    {
        Flush();
        return store.Load(from.Ticks / TimeSpan.TicksPerHour);
    }

    /// <summary>A name from outside as it is kept: control characters become '?', at most <see cref="MaxNameLength"/> characters.</summary>
    public static string Clean(string name)
    {
        if (name.Length > MaxNameLength) name = name[..MaxNameLength] + "…";
        if (!name.Any(char.IsControl)) return name;
        var b = new StringBuilder(name.Length);
        foreach (var c in name) b.Append(char.IsControl(c) ? '?' : c);
        return b.ToString();
    }
}

/// <summary>
/// The example kept of a violation: its messageId, its message and the value's shape with the personal data masked
/// (letters become x or X, digits 9, the rest kept; at most 40 characters), so "12.50 EUR" reads "99.99 XXX" and
/// "jane@example.com" reads "xxxx@xxxxxxx.xxx": the shape that explains the violation, not the person.
/// </summary>
internal static class ViolationExample
{
    public const int MaxLength = 40;

    public static string Json(string messageId, PlanViolation v)
    {
        var (type, value) = Mask(v.Value);
        return JsonSerializer.Serialize(new Dictionary<string, string?>
        {
            ["messageId"] = ViolationLog.Clean(messageId),
            ["message"] = MaskedMessage(v.Message),
            ["valueType"] = type,
            ["value"] = value,
        });
    }

    public static (string? Type, string? Value) Mask(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Undefined => (null, null),
        JsonValueKind.String => ("string", Masked(value.GetString()!, MaxLength)),
        JsonValueKind.Number => ("number", Masked(value.GetRawText(), MaxLength)),
        JsonValueKind.True or JsonValueKind.False => ("boolean", value.GetRawText()),
        JsonValueKind.Null => ("null", "null"),
        JsonValueKind.Array => ("array", $"[{value.GetArrayLength()} items]"),
        _ => ("object", "{" + string.Join(", ", value.EnumerateObject().Take(5).Select(p => ViolationLog.Clean(p.Name))) + (value.EnumerateObject().Count() > 5 ? ", …" : "") + "}"),
    };

    /// <summary>
    /// The schema library's part of a message (after the first ": ") may quote the sent number ("12.5 is greater than 10"):
    /// its digits are masked; the rest (names, types, the plan's words) is kept.
    /// </summary>
    private static string MaskedMessage(string message)
    {
        var at = message.IndexOf(": ", StringComparison.Ordinal);
        var text = at < 0 ? message : message[..(at + 2)] + new string(message[(at + 2)..].Select(c => char.IsDigit(c) ? '9' : c).ToArray());
        return ViolationLog.Clean(text.Length > 300 ? text[..300] : text);
    }

    /// <summary>Digits become 9, letters x or X, control characters '?'; at most <paramref name="max"/> characters.</summary>
    private static string Masked(string text, int max)
    {
        var b = new StringBuilder(Math.Min(text.Length, max));
        foreach (var c in text)
        {
            if (b.Length >= max) { b.Append('…'); break; }
            b.Append(char.IsDigit(c) ? '9' : char.IsLetter(c) ? (char.IsUpper(c) ? 'X' : 'x') : char.IsControl(c) ? '?' : c);
        }
        return b.ToString();
    }
}

using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles.Api;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Identity.Contracts;

namespace Cdp.Modules.Profiles.Projection;

[Service]
internal sealed class ProfileReader(IProfileStore db, ComputedTraits computed, TimeProvider clock, IEventLog log) : IProfileReader
{
    /// <summary>Events per log read when collecting a profile's events: neighbours in the log cost one read.</summary>
    private const int LogReadSpan = 512;

    public ProfileView? Get(string profileId)
    {
        if (!ProfileIds.TryParse(profileId, out var no)) return null;
        var state = Load(no);
        return state is null ? null : View(state);
    }

    public IReadOnlyDictionary<string, ProfileView> GetMany(IReadOnlyCollection<string> profileIds)
    {
        var numbers = new List<long>(profileIds.Count);
        foreach (var id in profileIds) if (ProfileIds.TryParse(id, out var no)) numbers.Add(no);
        var views = new Dictionary<string, ProfileView>(numbers.Count, StringComparer.Ordinal);
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var p in db.Many(numbers))
            if (p.Into == 0) views[ProfileIds.Format(p.Profile)] = View(p, computed, now);
        return views;
    }

    public IReadOnlyList<ProfileView> ListAfter(long afterProfile, int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        return db.LiveAfter(afterProfile, max).Select(View).ToList();
    }

    public IReadOnlyList<long> EventSequences(string profileId) =>
        ProfileIds.TryParse(profileId, out var no) ? ProfileTimeline.All(db, no) : [];

    public IReadOnlyList<ProfileEvent> Events(string profileId)
    {
        if (!ProfileIds.TryParse(profileId, out var no)) return [];
        var sequences = ProfileTimeline.All(db, no);
        var result = new List<ProfileEvent>(sequences.Count);
        var i = 0;
        while (i < sequences.Count)
        {
            var first = sequences[i];
            var span = 1;
            while (i + span < sequences.Count && sequences[i + span] - first < LogReadSpan) span++;
            var wanted = new HashSet<long>(sequences.Skip(i).Take(span));
            foreach (var e in log.ReadAfter(first - 1, (int)(sequences[i + span - 1] - first + 1)))
                if (wanted.Contains(e.Sequence)) result.Add(ToProfileEvent(e));
            i += span;
        }
        return result;
    }

    /// <summary>Type, name and timestamp as the processor derives them (ProfileWork.Apply).</summary>
    private static ProfileEvent ToProfileEvent(LoggedEvent e)
    {
        using var doc = JsonDocument.Parse(e.Json);
        var payload = doc.RootElement;
        var type = Str(payload, "type") ?? "track";
        var name = type switch { "track" => Str(payload, "event"), "page" or "screen" => Str(payload, "name"), _ => null };
        var timestamp = payload.TryGetProperty("timestamp", out var ts) && ts.TryGetDateTime(out var t) ? t.ToUniversalTime() : e.ReceivedAt;
        return new ProfileEvent(e.Sequence, type, name, timestamp, e.Source, e.Json);
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public ProfileState? Load(long profile)
    {
        var p = db.Profile(profile);
        return p is null || p.Into != 0 ? null : p;
    }

    public ProfileView View(ProfileState p) => View(p, computed, clock.GetUtcNow().UtcDateTime);

    public static ProfileView View(ProfileState p, ComputedTraits computed, DateTime now) => new(
        ProfileIds.Format(p.Profile),
        TreeJson.ToElement(p.Traits),
        TreeJson.ToElement(computed.Values(p.Computed, now)),
        p.First, p.Last, p.Events,
        p.TypeCounts.ToDictionary(k => k.Key, k => k.Value.AsInt64),
        p.EventCounts.ToDictionary(k => k.Key, k => k.Value.AsInt64),
        p.Sources.ToDictionary(k => k.Key, k => new SourcePresence(k.Value["f"].AsDateTime.ToUniversalTime(), k.Value["l"].AsDateTime.ToUniversalTime(), k.Value["n"].AsInt64)),
        p.Groups) { Consent = ConsentSet.View(p.Consent), Skipped = SkippedValues.View(p.Skipped) };
}

using Cdp.Modules.Profiles.Api;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Profiles.Projection;

[Service]
internal sealed class ProfileReader(CdpDatabase db, ComputedTraits computed, TimeProvider clock) : IProfileReader
{
    public ProfileView? Get(string profileId)
    {
        if (!ProfileIds.TryParse(profileId, out var no)) return null;
        var state = Load(no);
        return state is null ? null : View(state);
    }

    public ProfileState? Load(long profile)
    {
        var d = db.Collection(ProfileSchema.Profiles).FindById(profile);
        if (d is null || d.ContainsKey("into")) return null;
        return ProfileState.FromBson(d);
    }

    public ProfileView View(ProfileState p) => new(
        ProfileIds.Format(p.Profile),
        BsonJson.ToElement(p.Traits),
        BsonJson.ToElement(computed.Values(p.Computed, clock.GetUtcNow().UtcDateTime)),
        p.First, p.Last, p.Events,
        p.TypeCounts.ToDictionary(k => k.Key, k => k.Value.AsInt64),
        p.EventCounts.ToDictionary(k => k.Key, k => k.Value.AsInt64),
        p.Sources.ToDictionary(k => k.Key, k => new SourcePresence(k.Value["f"].AsDateTime.ToUniversalTime(), k.Value["l"].AsDateTime.ToUniversalTime(), k.Value["n"].AsInt64)),
        p.Groups);
}

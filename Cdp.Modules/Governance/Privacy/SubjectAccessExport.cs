using System.Text.Json.Nodes;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;

namespace Cdp.Modules.Governance.Privacy;

/// <summary>A subject access request: everything Cdp holds about a person, one section per <see cref="IPersonalDataHolder"/>.</summary>
[Service]
internal sealed class SubjectAccessExport(PersonalDataSubjects subjects, IEnumerable<IPersonalDataHolder> holders, TimeProvider clock)
{
    public JsonObject? Export(long profile)
    {
        var subject = subjects.Build(profile);
        if (subject is null) return null;
        var document = new JsonObject
        {
            ["profileId"] = subject.ProfileId,
            ["exportedAt"] = clock.GetUtcNow().UtcDateTime,
            ["profileIds"] = new JsonArray(subject.ProfileIds.Select(p => (JsonNode)JsonValue.Create(p)).ToArray()),
        };
        foreach (var holder in holders.OrderBy(h => h.Section, StringComparer.Ordinal))
            document[holder.Section] = holder.Export(subject);
        return document;
    }
}

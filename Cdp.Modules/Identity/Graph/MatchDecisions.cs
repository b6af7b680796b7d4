using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.LiteDb;
using LiteDB;

namespace Cdp.Modules.Identity.Graph;

/// <summary>The stored link decisions (<see cref="IdentitySchema.Links"/>) as Matching reads and erases them.</summary>
[Service]
internal sealed class MatchDecisions(CdpDatabase db) : IMatchDecisions
{
    public IReadOnlyList<(long Left, long Right)> Undone() =>
        db.Collection(IdentitySchema.Links).Find(Filter.EQ("st", LinkStatus.Undone)).ToList().Select(d => (d["a"].AsInt64, d["b"].AsInt64)).ToList();

    public IReadOnlyList<MatchDecisionView> Involving(IReadOnlySet<long> profiles) =>
        db.Collection(IdentitySchema.Links).FindAll().Where(d => Involves(d, profiles)).Select(LinkRecord.FromBson)
            .Select(l => new MatchDecisionView(l.Id, l.Status, l.Left, l.Right, l.At, l.Evidence)).ToList();

    public long EraseInvolving(IReadOnlySet<long> profiles, IUnitOfWork tx)
    {
        var database = tx.Lite();
        var links = database.GetCollection(IdentitySchema.Links);
        var ids = links.FindAll().Where(d => Involves(d, profiles)).Select(d => d["_id"]).ToList();
        foreach (var id in ids) links.Delete(id);
        return ids.Count;
    }

    private static bool Involves(BsonDocument d, IReadOnlySet<long> profiles) => profiles.Contains(d["a"].AsInt64) || profiles.Contains(d["b"].AsInt64);
}

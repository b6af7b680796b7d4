using Cdp.Modules.Segments.Membership;
using Cdp.Modules.Segments.Membership.LiteDb;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Segments;

/// <summary>The bitmap that lets the processor skip reading segment state a profile cannot have.</summary>
public sealed class StoredSegmentStatesTests
{
    [Fact]
    public void Profiles_with_a_stored_state_are_known_after_loading_and_others_are_not()
    {
        using var folder = new TempFolder();
        using var db = Open(folder);
        db.InTransaction(d => d.GetCollection(LiteSegmentStore.Collections.Profiles).Insert(new long[] { 5, 64, 130, 70_000, 9_000_001 }
            .Select(p => new BsonDocument { ["_id"] = p, ["c"] = new BsonDocument(), ["m"] = new BsonArray() })));
        var stored = new StoredSegmentStates();

        stored.MayExist(6).Should().BeTrue("nothing is known before loading");
        Load(stored, db);

        foreach (var p in new long[] { 5, 64, 130, 70_000, 9_000_001 }) stored.MayExist(p).Should().BeTrue($"{p} has a document");
        foreach (var p in new long[] { 0, 4, 6, 63, 65, 129, 69_999, 9_000_000, 50_000_000 }) stored.MayExist(p).Should().BeFalse($"{p} has none");
    }

    [Fact]
    public void An_added_profile_may_exist_and_numbers_it_cannot_track_always_may()
    {
        using var folder = new TempFolder();
        using var db = Open(folder);
        var stored = new StoredSegmentStates();
        Load(stored, db);
        stored.MayExist(12_345_678).Should().BeFalse();

        stored.Add(12_345_678);
        stored.Add(3);

        stored.MayExist(12_345_678).Should().BeTrue();
        stored.MayExist(3).Should().BeTrue();
        stored.MayExist(12_345_679).Should().BeFalse();
        stored.MayExist(-1).Should().BeTrue();
        stored.MayExist(StoredSegmentStates.MaxTracked).Should().BeTrue();
    }

    private static CdpDatabase Open(TempFolder folder) =>
        new(Options.Create(new StorageOptions { Path = folder.File("s.db") }), NullLogger<CdpDatabase>.Instance);

    private static void Load(StoredSegmentStates stored, CdpDatabase db) =>
        ((IUnitOfWorkFactory)db).InTransaction(tx =>
        {
            stored.EnsureLoaded(new LiteSegmentStore(db).Lock(tx, DateTime.UtcNow));
            return true;
        });
}

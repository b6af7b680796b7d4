using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using LiteDB;

namespace Cdp.Tests.Shared;

/// <summary><see cref="DocumentScan.Scan"/> tests documents page by page itself: it must find exactly what LiteDB's own Where finds.</summary>
public sealed class DocumentScanTests
{
    private static readonly string[] Predicates =
    [
        "$.tr.plan = @0 OR STRING($.tr.plan) = @0",
        "$.tr.age = @0 OR STRING($.tr.age) = @0",
        "$.g[*] ANY = @0",
        "$.tr.address.city = @0",
    ];

    [Theory]
    [InlineData(0, "pro")]
    [InlineData(0, "PRO")]
    [InlineData(1, "42")]
    [InlineData(2, "acme")]
    [InlineData(3, "Paris")]
    [InlineData(0, "nobody-has-this")]
    public void Scan_finds_what_LiteDBs_own_Where_finds_in_id_order_across_pages(int predicate, string value)
    {
        using var folder = new TempFolder();
        using var db = folder.Database("s.db");
        var profiles = db.GetCollection("profiles", BsonAutoId.Int64);
        profiles.Insert(Enumerable.Range(1, 95).Select(i => new BsonDocument
        {
            ["_id"] = (long)i * 3,
            ["tr"] = new BsonDocument
            {
                ["plan"] = (i % 4) switch { 0 => "pro", 1 => "Pro", 2 => "basic", _ => BsonValue.Null },
                ["age"] = i % 5 == 0 ? new BsonValue(42) : new BsonValue("42"),
                ["address"] = new BsonDocument { ["city"] = i % 3 == 0 ? "Paris" : "Lyon" },
            },
            ["g"] = i % 6 == 0 ? new BsonArray(new BsonValue("acme"), new BsonValue("globex")) : new BsonArray(),
        }));
        profiles.Insert(new BsonDocument { ["_id"] = 1_000L, ["into"] = 3L }); // a merged-away profile: no traits

        var expression = () => BsonExpression.Create(Predicates[predicate], new BsonValue(value));
        var expected = profiles.Query().Where(expression()).ToList().Select(d => d["_id"].AsInt64).Order().ToList();

        var scanned = db.Scan("profiles", expression(), pageSize: 7).Select(d => d["_id"].AsInt64).ToList();

        scanned.Should().Equal(expected);
        if (value != "nobody-has-this") expected.Should().NotBeEmpty("the case must test something");
    }
}

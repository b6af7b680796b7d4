using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Shared;

/// <summary>LiteDB #2825: every write to cdp.db runs under CdpDatabase's write gate, or is refused.</summary>
public sealed class WriteGateTests
{
    private const string Refusal = "writes must run inside CdpDatabase.InTransaction, see LiteDB #2825";

    private static CdpDatabase Open(TempFolder folder) =>
        new(Options.Create(new StorageOptions { Path = folder.File("cdp.db") }), NullLogger<CdpDatabase>.Instance);

    // declared before Writes: static fields are initialised in order
    private static readonly Dictionary<string, Action<CdpDatabase>> WriteOperations = new()
    {
        ["Insert"] = db => db.Collection("c").Insert(new BsonDocument { ["_id"] = 2L }),
        ["InsertBulk"] = db => db.Collection("c").InsertBulk([new BsonDocument { ["_id"] = 2L }]),
        ["Insert through Database.GetCollection"] = db => db.Database.GetCollection("c").Insert(new BsonDocument { ["_id"] = 2L }),
        ["Insert of a typed collection"] = db => db.Database.GetCollection<Row>("typed").Insert(new Row { Id = 2 }),
        ["Upsert"] = db => db.Collection("c").Upsert(new BsonDocument { ["_id"] = 1L, ["v"] = 2 }),
        ["Update"] = db => db.Collection("c").Update(new BsonDocument { ["_id"] = 1L, ["v"] = 2 }),
        ["UpdateMany"] = db => db.Collection("c").UpdateMany("{ v: 2 }", "_id = 1"),
        ["Delete"] = db => db.Collection("c").Delete(1L),
        ["DeleteMany"] = db => db.Collection("c").DeleteMany(Query.GT("_id", 0)),
        ["DeleteAll"] = db => db.Collection("c").DeleteAll(),
        ["EnsureIndex"] = db => db.Collection("c").EnsureIndex("v"),
        ["DropIndex"] = db => db.Collection("c").DropIndex("v"),
        ["DropCollection"] = db => db.Database.DropCollection("c"),
        ["RenameCollection"] = db => db.Database.RenameCollection("c", "d"),
        ["SQL INSERT"] = db => db.Database.Execute("INSERT INTO c VALUES { _id: 2 }").ToList(),
        ["SQL SELECT INTO"] = db => db.Database.Execute("SELECT $ INTO d FROM c").ToList(),
        ["FileStorage upload"] = db => db.Database.FileStorage.Upload("f", "f.txt", new MemoryStream([1, 2, 3])),
        ["UserVersion"] = db => db.Database.UserVersion = 7,
        ["Checkpoint"] = db => db.Database.Checkpoint(),
        ["Rebuild"] = db => db.Database.Rebuild(),
    };

    /// <summary>Every way of writing LiteDB offers, each made outside the gate.</summary>
    public static readonly TheoryData<string> Writes = new(WriteOperations.Keys);

    private sealed class Row
    {
        public long Id { get; set; }
    }

    private static string State(CdpDatabase db) =>
        string.Join(";", db.Database.GetCollectionNames().Order(StringComparer.Ordinal)) + "|" +
        string.Join(";", db.Collection("c").FindAll().Select(d => d.ToString())) + "|" +
        string.Join(";", db.Database.Execute("SELECT name FROM $indexes WHERE collection = 'c'").ToList().Select(i => i["name"].AsString).Order(StringComparer.Ordinal)) + "|" + db.Database.UserVersion;

    [Theory]
    [MemberData(nameof(Writes))]
    public void A_write_outside_the_write_gate_is_refused_and_changes_nothing(string write)
    {
        using var folder = new TempFolder();
        using var db = Open(folder);
        db.InTransaction(d =>
        {
            d.GetCollection("c").Insert(new BsonDocument { ["_id"] = 1L, ["v"] = 1 });
            d.GetCollection("c").EnsureIndex("v");
        });
        var before = State(db);

        var refused = () => WriteOperations[write](db);

        refused.Should().Throw<InvalidOperationException>().WithMessage($"*{Refusal}*");
        State(db).Should().Be(before);
    }

    [Fact]
    public void A_write_from_another_thread_is_refused_while_a_transaction_holds_the_gate()
    {
        using var folder = new TempFolder();
        using var db = Open(folder);
        Exception? other = null;
        db.InTransaction(d =>
        {
            d.GetCollection("c").Insert(new BsonDocument { ["_id"] = 1L });
            var thread = new Thread(() =>
            {
                try { db.Collection("c").Insert(new BsonDocument { ["_id"] = 2L }); }
                catch (Exception ex) { other = ex; }
            });
            thread.Start();
            thread.Join();
        });
        other.Should().BeOfType<InvalidOperationException>().Which.Message.Should().Contain(Refusal);
        db.Collection("c").FindAll().Select(d => d["_id"].AsInt64).Should().Equal(1L);
    }

    [Fact]
    public void Writes_inside_InTransaction_and_checkpoints_of_CdpDatabase_go_through()
    {
        using var folder = new TempFolder();
        using (var db = Open(folder))
        {
            db.InTransaction(d =>
            {
                d.GetCollection("c").Insert(new BsonDocument { ["_id"] = 1L });
                d.GetCollection("c").EnsureIndex("v");
                d.FileStorage.Upload("f", "f.txt", new MemoryStream([1, 2, 3]));
                d.Execute("INSERT INTO c VALUES { _id: 2 }").ToList();
            });
            db.Checkpoint();
            db.CopyConsistentTo(folder.File("copy.db")).Should().BeGreaterThan(0);
        }
        using var reopened = Open(folder);
        reopened.Collection("c").Count().Should().Be(2);
        reopened.Database.FileStorage.Exists("f").Should().BeTrue();
    }
}

using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using LiteDB;

namespace Cdp.Tests.Shared;

/// <summary><see cref="DocumentLookup.ById"/> reuses one parsed predicate per thread: it must read exactly what FindById reads.</summary>
public sealed class DocumentLookupTests
{
    [Fact]
    public void ById_finds_the_same_documents_as_FindById_for_number_and_text_ids_and_null_when_missing()
    {
        using var folder = new TempFolder();
        using var db = folder.Database("l.db");
        var numbers = db.GetCollection("numbers");
        var texts = db.GetCollection("texts");
        numbers.Insert(Enumerable.Range(1, 300).Select(i => new BsonDocument { ["_id"] = (long)i, ["v"] = i * 10 }));
        texts.Insert(Enumerable.Range(1, 300).Select(i => new BsonDocument { ["_id"] = "email:p" + i + "@example.com", ["v"] = i }));

        foreach (var i in new[] { 1, 2, 150, 299, 300 })
        {
            numbers.ById((long)i)!["v"].AsInt32.Should().Be(i * 10);
            texts.ById("email:p" + i + "@example.com")!["v"].AsInt32.Should().Be(i);
            numbers.ById((long)i)!.ToString().Should().Be(numbers.FindById((long)i).ToString());
        }
        (numbers.ById(0L) is null).Should().BeTrue();
        (numbers.ById(301L) is null).Should().BeTrue();
        (texts.ById("email:nobody@example.com") is null).Should().BeTrue();
        (numbers.ById("1") is null).Should().BeTrue("an _id of another type is another key, as with FindById");
    }

    [Fact]
    public void ById_gives_each_thread_its_own_answer_under_concurrent_reads()
    {
        using var folder = new TempFolder();
        using var db = folder.Database("c.db");
        var col = db.GetCollection("c");
        col.Insert(Enumerable.Range(1, 2_000).Select(i => new BsonDocument { ["_id"] = (long)i, ["v"] = (long)i }));

        var wrong = 0;
        Parallel.For(0, 4, worker =>
        {
            for (var n = 0; n < 5_000; n++)
            {
                var id = (long)(1 + (n * 7 + worker * 13) % 2_000);
                if (col.ById(id)?["v"].AsInt64 != id) Interlocked.Increment(ref wrong);
            }
        });
        wrong.Should().Be(0);
    }

    [Fact]
    public void ById_refuses_a_null_id_like_FindById()
    {
        using var folder = new TempFolder();
        using var db = folder.Database("n.db");
        var col = db.GetCollection("c");
        FluentActions.Invoking(() => col.ById(BsonValue.Null)).Should().Throw<ArgumentNullException>();
    }
}

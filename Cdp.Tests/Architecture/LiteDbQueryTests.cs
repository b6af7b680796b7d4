using System.Text.RegularExpressions;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;
using LiteDB;

namespace Cdp.Tests.Architecture;

/// <summary>
/// LiteDB 5's Query.EQ/LT/GT/Between/In/... write the value into the expression text, and LiteDB keeps every compiled text
/// forever: a leak in a long-running server. Cdp uses <see cref="Filter"/>, whose texts are fixed and whose values are
/// parameters; these tests keep it that way and check the parameters still let LiteDB use the index.
/// </summary>
public sealed partial class LiteDbQueryTests
{
    [Fact]
    public void No_module_builds_a_LiteDB_query_with_its_value_in_the_text()
    {
        var root = RepositoryRoot();
        var offenders = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => (f.Contains($"{Path.DirectorySeparatorChar}Cdp.Modules{Path.DirectorySeparatorChar}") || f.Contains($"{Path.DirectorySeparatorChar}Cdp.Host{Path.DirectorySeparatorChar}"))
                        && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => ValueQuery().IsMatch(x.line))
            .Select(x => $"{Path.GetRelativePath(root, x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
        offenders.Should().BeEmpty("use Cdp.Modules.Shared.Storage.Filter: LiteDB caches every query text it compiles, forever");
    }

    [Fact]
    public void The_rule_catches_a_query_with_an_inline_value() =>
        ValueQuery().IsMatch("""var x = col.Find(Query.LTE("_id", seq));""").Should().BeTrue();

    [Fact]
    public void Filters_with_parameters_find_the_same_documents_through_the_index()
    {
        using var folder = new TempFolder();
        using var db = folder.Database("f.db");
        var col = db.GetCollection("c");
        col.Insert(Enumerable.Range(1, 200).Select(i => new BsonDocument { ["_id"] = (long)i, ["k"] = i % 2 == 0 ? "even" : "odd", ["s"] = "key-" + i }));
        col.EnsureIndex("k");
        col.EnsureIndex("s");

        IEnumerable<long> Ids(BsonExpression e) => col.Find(e).Select(d => d["_id"].AsInt64).Order();
        Ids(Filter.EQ("_id", 7L)).Should().Equal(7);
        Ids(Filter.LT("_id", 3L)).Should().Equal(1, 2);
        Ids(Filter.LTE("_id", 3L)).Should().Equal(1, 2, 3);
        Ids(Filter.GT("_id", 198L)).Should().Equal(199, 200);
        Ids(Filter.GTE("_id", 199L)).Should().Equal(199, 200);
        Ids(Filter.Between("_id", 10L, 12L)).Should().Equal(10, 11, 12);
        Ids(Filter.Inside("_id", 10L, 13L)).Should().Equal(11, 12);
        Ids(Filter.In("_id", [new BsonValue(5L), new BsonValue(50L)])).Should().Equal(5, 50);
        Ids(Filter.EQ("k", "odd")).Should().HaveCount(100);
        Ids(Filter.NotEQ("k", "odd")).Should().HaveCount(100).And.OnlyContain(i => i % 2 == 0);
        Ids(Filter.StartsWith("s", "key-19")).Should().Equal(19, 190, 191, 192, 193, 194, 195, 196, 197, 198, 199);

        foreach (var (filter, index) in new[]
                 {
                     (Filter.EQ("_id", 7L), "_id"), (Filter.LTE("_id", 3L), "_id"), (Filter.GT("_id", 198L), "_id"),
                     (Filter.Between("_id", 10L, 12L), "_id"), (Filter.In("_id", [new BsonValue(5L)]), "_id"),
                     (Filter.EQ("k", "odd"), "k"), (Filter.StartsWith("s", "key-19"), "s"),
                 })
        {
            var plan = col.Query().Where(filter).GetPlan();
            plan["index"]["name"].AsString.Should().Be(index, $"{filter.Source} should seek the index, not scan ({plan})");
            plan["index"]["mode"].AsString.Should().NotStartWith("FULL", $"{filter.Source}: {plan}");
        }
    }

    [GeneratedRegex(@"\bQuery\.(EQ|LT|LTE|GT|GTE|Between|In|StartsWith|Contains|Not|And|Or)\(")]
    private static partial Regex ValueQuery();

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Cdp.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Cdp.sln not found above " + AppContext.BaseDirectory);
    }
}

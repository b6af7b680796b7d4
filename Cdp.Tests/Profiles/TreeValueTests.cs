using Cdp.Modules.Profiles.Projection;
using Cdp.Modules.Profiles.Projection.LiteDb;
using LiteDB;

namespace Cdp.Tests.Profiles;

/// <summary>
/// The profile value tree (issue #27: the projection names no storage engine) against LiteDB's own BSON, the form both
/// providers kept before it: the same bytes, the same documents, the same order and equality.
/// </summary>
public sealed class TreeValueTests
{
    private static readonly DateTime At = new(2026, 12, 4, 21, 30, 15, 123, DateTimeKind.Utc);

    private static TreeDocument Sample() => new()
    {
        ["_id"] = 42L,
        ["f"] = At,
        ["min"] = DateTime.MinValue,
        ["max"] = DateTime.MaxValue,
        ["n"] = 7,
        ["big"] = long.MaxValue,
        ["d"] = 4.25,
        ["neg"] = -0.0,
        ["m"] = 12.345m,
        ["s"] = "Zoë \u00e9\ud83d\ude00",
        ["empty"] = "",
        ["b"] = true,
        ["null"] = TreeValue.Null,
        ["bin"] = new byte[] { 0, 1, 2, 255 },
        ["g"] = Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff"),
        ["lo"] = TreeValue.MinValue,
        ["hi"] = TreeValue.MaxValue,
        ["tr"] = new TreeDocument { ["address"] = new TreeDocument { ["city"] = "Paris", ["zip"] = 75001 }, ["tags"] = new TreeArray { "a", 1L, 2.5, new TreeDocument { ["x"] = TreeValue.Null } } },
        ["arr"] = new TreeArray(),
        ["doc"] = new TreeDocument(),
    };

    [Fact]
    public void A_tree_serialises_to_the_bytes_LiteDB_writes_for_the_same_document()
    {
        var tree = Sample();
        var theirs = BsonSerializer.Serialize(TreeBsonDocuments.ToBson(tree));

        TreeBson.Serialize(tree).Should().Equal(theirs);
    }

    [Fact]
    public void Bytes_LiteDB_wrote_read_back_as_the_same_tree_and_convert_back_to_the_same_document()
    {
        var bson = TreeBsonDocuments.ToBson(Sample());
        var bytes = BsonSerializer.Serialize(bson);

        var read = TreeBson.Deserialize(bytes);

        read.CompareTo(TreeBsonDocuments.ToTree(BsonSerializer.Deserialize(bytes, utcDate: true))).Should().Be(0);
        BsonSerializer.Serialize(TreeBsonDocuments.ToBson(read)).Should().Equal(bytes);
        read["f"].AsDateTime.Should().Be(At);
        read["f"].AsDateTime.Kind.Should().Be(DateTimeKind.Utc);
        read["min"].AsDateTime.Should().Be(DateTime.MinValue);
        read["max"].AsDateTime.Should().Be(DateTime.MaxValue);
        read["m"].AsDecimal.Should().Be(12.345m);
        read["g"].AsGuid.Should().Be(Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff"));
        read["tr"]["tags"][3]["x"].IsNull.Should().BeTrue();
        read["TR"]["Address"]["CITY"].AsString.Should().Be("Paris", "field names are case-insensitive, as in a LiteDB document");
    }

    [Fact]
    public void Damaged_bytes_are_refused_with_a_format_error_not_read_past_their_end()
    {
        var bytes = TreeBson.Serialize(Sample());

        foreach (var cut in new[] { 3, 10, bytes.Length / 2, bytes.Length - 1 })
            FluentActions.Invoking(() => TreeBson.Deserialize(bytes.AsSpan(0, cut))).Should().Throw<Exception>()
                .Which.Should().Match<Exception>(e => e is FormatException || e is ArgumentOutOfRangeException, $"cut at {cut}");
    }

    public static TheoryData<object, object> Pairs => new()
    {
        { 1, 1L }, { 1L, 1.0 }, { 2.5, 2.5m }, { "a", "b" }, { "B", "a" }, { "a", 1 }, { 1e300, 5L }, { -1e300, 5L },
        { true, false }, { At, At.AddMilliseconds(1) }, { "é", "z" }, { 0L, "0" }, { 1L, true },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Values_order_and_compare_equal_as_LiteDB_orders_them(object a, object b)
    {
        var (ta, tb) = (Tree(a), Tree(b));
        var (ba, bb) = (TreeBsonDocuments.ToBson(ta), TreeBsonDocuments.ToBson(tb));
        int Theirs() => Math.Sign(ba.CompareTo(bb));
        var theirs = a is 1e300 or -1e300 ? Math.Sign(((double)a).CompareTo(5.0)) : Theirs(); // LiteDB's decimal conversion overflows there

        Math.Sign(ta.CompareTo(tb)).Should().Be(theirs);
        Math.Sign(tb.CompareTo(ta)).Should().Be(-theirs);
        (ta == tb).Should().Be(theirs == 0);
        if (theirs == 0) ta.GetHashCode().Should().Be(tb.GetHashCode());
    }

    [Fact]
    public void Documents_and_arrays_compare_item_by_item_and_a_missing_field_reads_as_null()
    {
        var a = new TreeDocument { ["x"] = 1L, ["y"] = new TreeArray { 1L, 2L } };
        var b = new TreeDocument { ["X"] = 1.0, ["Y"] = new TreeArray { 1, 2.0 } };
        var c = new TreeDocument { ["x"] = 1L, ["y"] = new TreeArray { 1L, 2L, 3L } };

        a.Equals(b).Should().BeTrue("numbers compare by value and names ignore case");
        Math.Sign(a.CompareTo(c)).Should().Be(Math.Sign(TreeBsonDocuments.ToBson(a).CompareTo(TreeBsonDocuments.ToBson(c))));
        new TreeArray { a }.Contains(b).Should().BeTrue();
        a["missing"].IsNull.Should().BeTrue();
        FluentActions.Invoking(() => a["x"]["deeper"]).Should().Throw<InvalidOperationException>();
    }

    private static TreeValue Tree(object o) => o switch
    {
        int i => i, long l => l, double d => d, decimal m => m, string s => s, bool b => b, DateTime t => t,
        _ => throw new ArgumentException(o.GetType().Name),
    };
}

using LiteDB;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// Query predicates with their values as parameters. Use these, never LiteDB's <c>Query.EQ/LT/GT/Between/In/...</c>:
/// LiteDB 5 writes the value into the expression's text (<c>_id &lt;= 1234</c>) and caches the compiled delegate of every
/// text it has seen in a static dictionary, forever. Each new value then costs a parse, an expression-tree compile and a
/// dynamic method that is never freed: a memory leak in a server that queries by sequence, time or key all day
/// (seen as a fifth of the processor's CPU in compiles and finalizers). Here the text is fixed per field and operator,
/// so each shape compiles once. An architecture test keeps <c>Query.EQ</c> and friends out of the modules.
/// </summary>
public static class Filter
{
    public static BsonExpression EQ(string field, BsonValue value) => BsonExpression.Create(field + " = @0", value);

    public static BsonExpression NotEQ(string field, BsonValue value) => BsonExpression.Create(field + " != @0", value);

    public static BsonExpression LT(string field, BsonValue value) => BsonExpression.Create(field + " < @0", value);

    public static BsonExpression LTE(string field, BsonValue value) => BsonExpression.Create(field + " <= @0", value);

    public static BsonExpression GT(string field, BsonValue value) => BsonExpression.Create(field + " > @0", value);

    public static BsonExpression GTE(string field, BsonValue value) => BsonExpression.Create(field + " >= @0", value);

    /// <summary>Both ends included.</summary>
    public static BsonExpression Between(string field, BsonValue from, BsonValue to) =>
        BsonExpression.Create(field + " BETWEEN @0 AND @1", from, to);

    /// <summary>Both ends excluded: <c>after &lt; field &lt; before</c>.</summary>
    public static BsonExpression Inside(string field, BsonValue after, BsonValue before) =>
        BsonExpression.Create(field + " > @0 AND " + field + " < @1", after, before);

    public static BsonExpression In(string field, IEnumerable<BsonValue> values) =>
        BsonExpression.Create(field + " IN @0", new BsonArray(values));

    /// <summary>LIKE prefix%, as LiteDB's Query.StartsWith (a '%' or '_' in the prefix is a wildcard there too).</summary>
    public static BsonExpression StartsWith(string field, string prefix) => BsonExpression.Create(field + " LIKE @0", prefix + "%");
}

using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Cdp.Modules.Shared.Http;

/// <summary>
/// The one paging convention of the admin API: a page is asked for with <c>limit</c> (page size) and <c>cursor</c> (the
/// <c>nextCursor</c> of the previous page, opaque text), and answers <c>nextCursor</c>, null on the last page.
/// A paged endpoint opts in with <see cref="WithCursorPaging{TBuilder}"/>: a request that still uses a parameter name of
/// the old conventions (after, before, skip, take) is refused with a 400 naming <c>cursor</c>, because ignoring it would
/// answer page 1 again and a client following nextCursor-less docs would loop for ever.
/// </summary>
public static class CursorPaging
{
    public const string Cursor = "cursor";
    public const string Limit = "limit";

    /// <summary>Parameter names of the paging conventions this API used before it had one.</summary>
    private static readonly string[] RetiredNames = ["after", "before", "skip", "take"];

    public static TBuilder WithCursorPaging<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var query = context.HttpContext.Request.Query;
            foreach (var name in RetiredNames)
                if (query.ContainsKey(name))
                    return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"invalid {name}",
                        detail: $"paging uses {Cursor}=<nextCursor of the previous page> and {Limit}=<page size>; '{name}' is not a parameter of this endpoint",
                        extensions: new Dictionary<string, object?> { ["field"] = name });
            return await next(context);
        });

    /// <summary>A cursor that carries a position (offset, id or sequence) as a non-negative integer; null when absent.</summary>
    public static bool TryReadPosition(string? cursor, out long position)
    {
        position = 0;
        if (string.IsNullOrEmpty(cursor)) return true;
        return long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out position);
    }

    public static string Format(long position) => position.ToString(CultureInfo.InvariantCulture);

    public static ProblemHttpResult InvalidCursor() => TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "invalid cursor",
        detail: "cursor must be the nextCursor of a previous page", extensions: new Dictionary<string, object?> { ["field"] = Cursor });

    public static ProblemHttpResult InvalidLimit(int max) => TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "invalid limit",
        detail: $"limit must be between 1 and {max}", extensions: new Dictionary<string, object?> { ["field"] = Limit });
}

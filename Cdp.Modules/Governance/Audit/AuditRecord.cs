namespace Cdp.Modules.Governance.Audit;

/// <summary>
/// One admin action: who (the API key's name and role), what (method, path, route values, query), when, how long, and
/// the outcome (status code). Never a request body, never a key; identifiers in paths and queries are hashed.
/// </summary>
/// <param name="Id">Time-ordered (UTC ticks, bumped to stay unique): the paging cursor.</param>
internal sealed record AuditRecord(
    long Id,
    DateTime At,
    string Actor,
    string? Role,
    string Method,
    string Path,
    IReadOnlyDictionary<string, string> Route,
    string? Query,
    int Status,
    double DurationMs,
    string? Action);

/// <summary>JSON view: the id as text (ticks exceed JavaScript's exact integers).</summary>
internal sealed record AuditRecordView(
    string Id, DateTime At, string Actor, string? Role, string Method, string Path,
    IReadOnlyDictionary<string, string> Route, string? Query, int Status, double DurationMs, string? Action)
{
    public static AuditRecordView Of(AuditRecord r) =>
        new(r.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), r.At, r.Actor, r.Role, r.Method, r.Path, r.Route, r.Query, r.Status, r.DurationMs, r.Action);
}

internal sealed record AuditPage(IReadOnlyList<AuditRecordView> Items, string? NextCursor);

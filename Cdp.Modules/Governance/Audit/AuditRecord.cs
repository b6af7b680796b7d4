namespace Cdp.Modules.Governance.Audit;

/// <summary>
/// One admin action: who (the API key's name and role; without a valid key "(none)" and the remote address), what (method,
/// path, route values, query), when, how long, and the outcome (status code). Never a request body, never a key; values
/// that can name a person (identifiers, searched values) only as keyed hashes (<see cref="AuditKey"/>). A summary record
/// (method "*") stands for <see cref="Count"/> requests not recorded one by one, <see cref="Remote"/> naming the busiest
/// addresses.
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
    string? Action,
    string? Remote = null,
    long? Count = null);

/// <summary>JSON view: the id as text (ticks exceed JavaScript's exact integers).</summary>
internal sealed record AuditRecordView(
    string Id, DateTime At, string Actor, string? Role, string Method, string Path,
    IReadOnlyDictionary<string, string> Route, string? Query, int Status, double DurationMs, string? Action, string? Remote, long? Count)
{
    public static AuditRecordView Of(AuditRecord r) =>
        new(r.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), r.At, r.Actor, r.Role, r.Method, r.Path, r.Route, r.Query, r.Status,
            r.DurationMs, r.Action, r.Remote, r.Count);
}

internal sealed record AuditPage(IReadOnlyList<AuditRecordView> Items, string? NextCursor);

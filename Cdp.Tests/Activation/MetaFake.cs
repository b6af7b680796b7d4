using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cdp.Tests.Activation;

/// <summary>
/// Meta's Marketing API for customer-list custom audiences as documented (Customer File Custom Audiences guide, Graph API error
/// handling and rate limiting): the access token as a Bearer header; POST /{v}/act_{id}/customaudiences (name, subtype CUSTOM,
/// customer_file_source, is_value_based) answers {"id"}; POST and DELETE /{v}/{audience}/users with
/// {"payload":{"schema":[...],"data":[[...]]}} (at most 10,000 rows; every identifier a SHA-256 lowercase hex or "", MADID
/// as is, LOOKALIKE_VALUE a non-negative decimal text as in Meta's example ("0.9") and required by a value-based audience) answer {audience_id, session_id, num_received,
/// num_invalid_entries, invalid_entry_samples}; POST /{v}/{audience}/usersreplace with a session {session_id, batch_seq,
/// last_batch_flag, estimated_num_total} replaces the audience when the last batch arrives. Errors are
/// {"error":{"message","type","code","error_subcode","fbtrace_id"}} with HTTP 400; an unknown token is code 190.
/// Every request is also checked against Meta's Graph API spec (<see cref="MetaGraphContract"/>).
/// </summary>
public sealed partial class MetaFake(string accessToken, string adAccount) : VendorFake
{
    public const int MaxRows = 10_000;

    /// <summary>One person in an audience: identifier key -> the value sent (hash), and their value when value-based.</summary>
    public sealed record Row(IReadOnlyDictionary<string, string> Ids, double? Value);

    public sealed class Audience(string id, string name, bool valueBased)
    {
        public string Id { get; } = id;
        public string Name { get; } = name;
        public bool ValueBased { get; } = valueBased;
        public List<Row> Rows { get; } = [];

        public IEnumerable<string> Emails => Rows.Select(r => r.Ids.GetValueOrDefault("EMAIL", ""));
    }

    public Dictionary<string, Audience> Audiences { get; } = new(StringComparer.Ordinal);

    /// <summary>Every replace batch received: (session id, batch_seq, last_batch_flag, rows).</summary>
    public List<(long Session, int Seq, bool Last, int Rows)> ReplaceBatches { get; } = [];

    public List<string> Violations { get; } = [];

    private readonly Dictionary<long, List<Row>> _replacing = [];
    private long _nextId = 23850000000000001;

    /// <summary>An audience someone created in Ads Manager (used with the AudienceId setting).</summary>
    public Audience Existing(string id, bool valueBased = false) => Audiences[id] = new Audience(id, "by hand", valueBased);

    public static FakeResponse Error(string message, int code, string type = "OAuthException", int? subcode = null, IReadOnlyDictionary<string, string>? headers = null) =>
        FakeResponse.Json(400, new { error = new { message, type, code, error_subcode = subcode, fbtrace_id = "AbCdEfGhIjK" } }, headers);

    [GeneratedRegex("^/v\\d+\\.\\d+/(?<node>act_\\d+|\\d+)/(?<edge>[a-z_]+)$")]
    private static partial Regex GraphPath();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256();

    protected override FakeResponse Handle(FakeRequest r)
    {
        Violations.AddRange(MetaGraphContract.Check(r));
        if (r.Header("Authorization") != "Bearer " + accessToken)
            return Error("Invalid OAuth access token - Cannot parse access token", 190);
        if (GraphPath().Match(r.Path) is not { Success: true } m) return Error("Unknown path components", 2500);
        var node = m.Groups["node"].Value;
        var edge = m.Groups["edge"].Value;
        var body = r.Json as JsonObject ?? [];
        if (node.StartsWith("act_", StringComparison.Ordinal))
        {
            if (node != "act_" + adAccount) return Error($"(#100) Ad account owner has NOT grant ads_management or ads_read permission", 200);
            if (r.Method != "POST" || edge != "customaudiences") return Error("Unsupported request", 100);
            if ((string?)body["subtype"] != "CUSTOM" || body["customer_file_source"] is null || body["name"] is null)
                return Error("(#100) The parameter subtype, customer_file_source and name are required", 100);
            var id = (_nextId++).ToString(System.Globalization.CultureInfo.InvariantCulture);
            Audiences[id] = new Audience(id, (string)body["name"]!, body["is_value_based"]?.GetValue<bool>() == true);
            return FakeResponse.Json(200, new { id });
        }
        if (!Audiences.TryGetValue(node, out var audience))
            return Error($"Unsupported post request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation", 100, "GraphMethodException", 33);
        if (!Payload(body, audience, r.Method == "DELETE", out var rows, out var invalid, out var problem)) return Error(problem!, 100);
        switch (r.Method, edge)
        {
            case ("POST", "users"):
                Remove(audience.Rows, rows);
                audience.Rows.AddRange(rows);
                break;
            case ("DELETE", "users"):
                Remove(audience.Rows, rows);
                break;
            case ("POST", "usersreplace"):
                if (body["session"] is not JsonObject session) return Error("(#100) The parameter session is required", 100);
                var sessionId = session["session_id"]!.GetValue<long>();
                var seq = session["batch_seq"]!.GetValue<int>();
                var last = session["last_batch_flag"]?.GetValue<bool>() == true;
                var expected = ReplaceBatches.Count(b => b.Session == sessionId) + 1;
                if (seq != expected) return Error($"(#100) batch_seq {seq} out of order, expected {expected}", 100);
                if (!_replacing.TryGetValue(sessionId, out var pending)) _replacing[sessionId] = pending = [];
                pending.AddRange(rows);
                ReplaceBatches.Add((sessionId, seq, last, rows.Count));
                if (last)
                {
                    audience.Rows.Clear();
                    audience.Rows.AddRange(pending);
                    _replacing.Remove(sessionId);
                }
                return FakeResponse.Json(200, new { account_id = adAccount, session_id = sessionId, num_received = rows.Count, num_invalid_entries = invalid, invalid_entry_samples = new { } });
            default:
                return Error("Unsupported request", 100);
        }
        return FakeResponse.Json(200, new { audience_id = audience.Id, session_id = 0, num_received = rows.Count, num_invalid_entries = invalid, invalid_entry_samples = new { } });
    }

    /// <summary>Identifiers that name one person on their own (a name, city or country never does).</summary>
    private static readonly HashSet<string> Identifying = new(StringComparer.Ordinal) { "EMAIL", "PHONE", "EXTERN_ID", "MADID" };

    /// <summary>Meta matches people by their identifying keys: a row names everyone sharing one of its email, phone, external id or device id hashes.</summary>
    private static void Remove(List<Row> rows, IEnumerable<Row> named)
    {
        var keys = named.SelectMany(r => r.Ids).Where(kv => Identifying.Contains(kv.Key)).Select(kv => kv.Key + ":" + kv.Value).ToHashSet(StringComparer.Ordinal);
        rows.RemoveAll(x => x.Ids.Any(kv => keys.Contains(kv.Key + ":" + kv.Value)));
    }

    private bool Payload(JsonObject body, Audience audience, bool removal, out List<Row> rows, out int invalid, out string? problem)
    {
        rows = [];
        invalid = 0;
        problem = null;
        if (body["payload"] is not JsonObject payload || payload["schema"] is not JsonArray schemaNode || payload["data"] is not JsonArray data)
        {
            problem = "(#100) param payload must be an object with schema and data";
            return false;
        }
        var schema = schemaNode.Select(s => s!.GetValue<string>()).ToList();
        if (schema.Distinct().Count() != schema.Count) { problem = "(#100) duplicate schema keys"; return false; }
        if (data.Count > MaxRows) { problem = $"(#100) Too many users in a batch: {data.Count} (at most {MaxRows})"; return false; }
        if (audience.ValueBased && !removal && !schema.Contains("LOOKALIKE_VALUE"))
        {
            problem = "(#100) A value-based custom audience needs LOOKALIKE_VALUE in the schema";
            return false;
        }
        foreach (var item in data)
        {
            if (item is not JsonArray cells || cells.Count != schema.Count) { problem = "(#100) each data row must have one value per schema key"; return false; }
            var ids = new Dictionary<string, string>(StringComparer.Ordinal);
            double? value = null;
            for (var i = 0; i < schema.Count; i++)
            {
                if (schema[i] == "LOOKALIKE_VALUE")
                {
                    if (cells[i]?.GetValueKind() != JsonValueKind.String || !double.TryParse(cells[i]!.GetValue<string>(), System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var v))
                    {
                        problem = $"(#100) LOOKALIKE_VALUE must be a non-negative decimal: {cells[i]?.ToJsonString()}";
                        return false;
                    }
                    value = v;
                    continue;
                }
                var text = cells[i]?.GetValueKind() == JsonValueKind.String ? cells[i]!.GetValue<string>() : null;
                if (text is null) { problem = $"(#100) {schema[i]} values must be strings"; return false; }
                if (text.Length == 0) continue;
                if (schema[i] != "MADID" && !Sha256().IsMatch(text)) Violations.Add($"{schema[i]} value is not a SHA-256 lowercase hex: '{text}'");
                ids[schema[i]] = text;
            }
            if (ids.Count == 0) invalid++;
            else rows.Add(new Row(ids, value));
        }
        return true;
    }
}

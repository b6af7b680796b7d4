using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cdp.Tests.Activation;

/// <summary>
/// Mailchimp Marketing API 3.0 as documented: Basic auth with the API key as password; POST /3.0/lists/{id} batch upsert
/// (members[] ≤ 500, update_existing, per-member errors[] in a 200); static segments (GET/POST /3.0/lists/{id}/segments,
/// POST .../segments/{sid} members_to_add / members_to_remove ≤ 500 each); DELETE .../members/{md5} archives;
/// PATCH .../members/{md5} changes a member (status one of subscribed, unsubscribed, cleaned, pending, transactional; 404 for an
/// unknown member); POST .../members/{md5}/actions/delete-permanent erases a member for good (204; 404 when there is none).
/// Errors are problem documents (type, title, status, detail, instance). With <c>Contract = VendorContract.Mailchimp</c> every
/// request is also checked against Mailchimp's own request schemas (TestData/vendor-openapi, see its README).
/// </summary>
public sealed partial class MailchimpFake(string apiKey, string listId) : VendorFake
{
    public const int MaxMembers = 500;

    public Dictionary<string, (string Status, JsonObject MergeFields)> Members { get; } = new(StringComparer.Ordinal);

    public Dictionary<int, (string Name, HashSet<string> Emails)> Segments { get; } = [];

    /// <summary>Addresses the fake refuses with a per-member error (e.g. "looks fake or invalid").</summary>
    public HashSet<string> Refuse { get; } = new(StringComparer.Ordinal);

    /// <summary>Every address received by batch upserts, in order (a resend shows up twice here, never twice in Members).</summary>
    public List<string> Upserted { get; } = [];

    /// <summary>Addresses erased by delete-permanent (Mailchimp then refuses to re-import them).</summary>
    public HashSet<string> PermanentlyDeleted { get; } = new(StringComparer.Ordinal);

    private int _nextSegmentId = 1001;

    public HashSet<string> Tagged(string sync) => Segments.Values.Single(s => s.Name == "cdp-" + sync).Emails;

    protected override FakeResponse Handle(FakeRequest r)
    {
        var auth = r.Header("Authorization") ?? "";
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("anystring:" + apiKey));
        if (!auth.StartsWith("Basic ", StringComparison.Ordinal) ||
            Encoding.UTF8.GetString(Convert.FromBase64String(auth[6..])).Split(':', 2) is not [_, var key] || key != apiKey)
            return FakeResponse.Json(401, new { type = "https://mailchimp.com/developer/marketing/docs/errors/", title = "API Key Invalid", status = 401, detail = "Your API key may be invalid, or you've attempted to access the wrong datacenter." });
        _ = expected;

        var list = $"/3.0/lists/{listId}";
        if (r.Method == "GET" && r.Path == list + "/segments")
            return FakeResponse.Json(200, new { segments = Segments.Select(s => new { id = s.Key, name = s.Value.Name }).ToList(), total_items = Segments.Count });
        if (r.Method == "POST" && r.Path == list + "/segments")
        {
            var id = _nextSegmentId++;
            Segments[id] = (r.Json!["name"]!.GetValue<string>(), new HashSet<string>(StringComparer.Ordinal));
            return FakeResponse.Json(200, new { id, name = Segments[id].Name, type = "static", member_count = 0 });
        }
        if (r.Method == "POST" && r.Path == list)
            return Upsert(r.Json!.AsObject());
        if (SegmentPath().Match(r.Path) is { Success: true } sm && sm.Groups[1].Value == listId && r.Method == "POST")
            return SegmentMembers(int.Parse(sm.Groups[2].Value), r.Json!.AsObject());
        if (DeletePermanentPath().Match(r.Path) is { Success: true } dp && dp.Groups[1].Value == listId && r.Method == "POST")
        {
            var email = Members.Keys.FirstOrDefault(e => Hash(e) == dp.Groups[2].Value);
            if (email is null) return NotFound(r);
            Members.Remove(email);
            foreach (var segment in Segments.Values) segment.Emails.Remove(email);
            PermanentlyDeleted.Add(email);
            return new FakeResponse(204);
        }
        if (MemberPath().Match(r.Path) is { Success: true } pm && pm.Groups[1].Value == listId && r.Method == "PATCH")
        {
            var email = Members.Keys.FirstOrDefault(e => Hash(e) == pm.Groups[2].Value);
            if (email is null) return NotFound(r);
            var status = r.Json?["status"]?.GetValue<string>();
            if (status is not null && status is not ("subscribed" or "unsubscribed" or "cleaned" or "pending" or "transactional"))
                return FakeResponse.Json(400, new { type = ErrorsDoc, title = "Invalid Resource", status = 400, detail = "The resource submitted could not be validated.", instance = Guid.NewGuid().ToString() });
            Members[email] = (status ?? Members[email].Status, Members[email].MergeFields);
            return FakeResponse.Json(200, new { id = Hash(email), email_address = email, status = Members[email].Status, list_id = listId });
        }
        if (MemberPath().Match(r.Path) is { Success: true } mm && mm.Groups[1].Value == listId && r.Method == "DELETE")
        {
            var email = Members.Keys.FirstOrDefault(e => Hash(e) == mm.Groups[2].Value);
            if (email is null) return FakeResponse.Json(404, new { title = "Resource Not Found", status = 404 });
            Members[email] = ("archived", Members[email].MergeFields);
            return new FakeResponse(204);
        }
        return FakeResponse.Json(404, new { title = "Resource Not Found", status = 404, detail = $"{r.Method} {r.Path}" });
    }

    private const string ErrorsDoc = "https://mailchimp.com/developer/marketing/docs/errors/";

    private static FakeResponse NotFound(FakeRequest r) =>
        FakeResponse.Json(404, new { type = ErrorsDoc, title = "Resource Not Found", status = 404, detail = "The requested resource could not be found.", instance = r.Path });

    private FakeResponse Upsert(JsonObject body)
    {
        var members = body["members"]!.AsArray();
        if (members.Count > MaxMembers)
            return FakeResponse.Json(400, new { title = "Invalid Resource", status = 400, detail = $"members: maximum of {MaxMembers} items" });
        if (body["update_existing"]?.GetValue<bool>() != true)
            return FakeResponse.Json(400, new { title = "Invalid Resource", status = 400, detail = "expected update_existing" });
        var created = new List<object>();
        var updated = new List<object>();
        var errors = new List<object>();
        foreach (var m in members)
        {
            var email = m!["email_address"]!.GetValue<string>();
            Upserted.Add(email);
            if (Refuse.Contains(email))
            {
                errors.Add(new { email_address = email, error = $"{email} looks fake or invalid, please enter a real email address.", error_code = "ERROR_GENERIC" });
                continue;
            }
            var fields = m["merge_fields"]?.DeepClone().AsObject() ?? [];
            if (Members.TryGetValue(email, out var existing))
            {
                foreach (var f in fields) existing.MergeFields[f.Key] = f.Value?.DeepClone();
                Members[email] = (m["status"]?.GetValue<string>() ?? existing.Status, existing.MergeFields);
                updated.Add(new { email_address = email, id = Hash(email) });
            }
            else
            {
                Members[email] = (m["status"]?.GetValue<string>() ?? m["status_if_new"]!.GetValue<string>(), fields);
                created.Add(new { email_address = email, id = Hash(email) });
            }
        }
        return FakeResponse.Json(200, new { new_members = created, updated_members = updated, errors, total_created = created.Count, total_updated = updated.Count, error_count = errors.Count });
    }

    private FakeResponse SegmentMembers(int id, JsonObject body)
    {
        if (!Segments.TryGetValue(id, out var segment)) return FakeResponse.Json(404, new { title = "Resource Not Found", status = 404 });
        var add = body["members_to_add"]?.AsArray().Select(e => e!.GetValue<string>()).ToList() ?? [];
        var remove = body["members_to_remove"]?.AsArray().Select(e => e!.GetValue<string>()).ToList() ?? [];
        if (add.Count > MaxMembers || remove.Count > MaxMembers)
            return FakeResponse.Json(400, new { title = "Invalid Resource", status = 400, detail = $"at most {MaxMembers} members_to_add / members_to_remove" });
        var notInList = add.Where(e => !Members.ContainsKey(e)).ToList();
        foreach (var e in add.Except(notInList)) segment.Emails.Add(e);
        foreach (var e in remove) segment.Emails.Remove(e);
        var errors = notInList.Count == 0 ? new List<object>() : [new { email_addresses = notInList, error = "Email addresses do not belong to this list" }];
        return FakeResponse.Json(200, new { members_added = add.Except(notInList).Select(e => new { email_address = e }), members_removed = remove.Select(e => new { email_address = e }), errors, total_added = add.Count - notInList.Count, total_removed = remove.Count, error_count = notInList.Count });
    }

    private static string Hash(string email) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(email.ToLowerInvariant())));

    [GeneratedRegex("^/3.0/lists/([^/]+)/segments/(\\d+)$")]
    private static partial Regex SegmentPath();

    [GeneratedRegex("^/3.0/lists/([^/]+)/members/([0-9a-f]{32})$")]
    private static partial Regex MemberPath();

    [GeneratedRegex("^/3.0/lists/([^/]+)/members/([0-9a-f]{32})/actions/delete-permanent$")]
    private static partial Regex DeletePermanentPath();
}

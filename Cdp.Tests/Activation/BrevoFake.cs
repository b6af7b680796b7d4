using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cdp.Tests.Activation;

/// <summary>
/// Brevo API v3 as documented: "api-key" header; POST /v3/contacts/import (jsonBody, listIds, updateExistingContacts) answers 202
/// {processId}, GET /v3/processes/{id} goes queued -> in_process -> completed; POST /v3/contacts/lists/{id}/contacts/remove
/// takes at most 150 emails and answers 201 {contacts:{success:[...], failure:[...]}}; DELETE /v3/contacts/{identifier} deletes a
/// contact (204) and PUT /v3/contacts/{identifier} updates one (emailBlacklisted, attributes; 204), both answering 404
/// {code:"document_not_found"} for an unknown contact; identifierType=email_id says the identifier is an email address.
/// </summary>
public sealed partial class BrevoFake(string apiKey, long listId) : VendorFake
{
    public const int MaxRemove = 150;

    public Dictionary<string, JsonObject> Contacts { get; } = new(StringComparer.Ordinal);

    public HashSet<string> InList { get; } = new(StringComparer.Ordinal);

    /// <summary>Addresses that make Brevo refuse a whole import (400) without saying which row.</summary>
    public HashSet<string> Poison { get; } = new(StringComparer.Ordinal);

    /// <summary>Addresses the remove call reports under failure[].</summary>
    public HashSet<string> FailRemoval { get; } = new(StringComparer.Ordinal);

    private readonly Dictionary<long, (int Polls, JsonArray Body, bool Update)> _processes = [];

    /// <summary>Contacts deleted by DELETE /v3/contacts/{identifier}.</summary>
    public HashSet<string> Deleted { get; } = new(StringComparer.Ordinal);

    /// <summary>Contacts blocklisted for email (emailBlacklisted: true): Brevo sends them no campaign.</summary>
    public HashSet<string> Blacklisted { get; } = new(StringComparer.Ordinal);

    protected override FakeResponse Handle(FakeRequest r)
    {
        if (r.Header("api-key") != apiKey)
            return FakeResponse.Json(401, new { code = "unauthorized", message = "Key not found" });
        if (r.Method == "POST" && r.Path == "/v3/contacts/import")
        {
            var body = r.Json!.AsObject();
            if (body["jsonBody"] is not JsonArray contacts || body["listIds"]?.AsArray().FirstOrDefault()?.GetValue<long>() != listId)
                return FakeResponse.Json(400, new { code = "invalid_parameter", message = "jsonBody and listIds are required" });
            if (contacts.Any(c => Poison.Contains(c!["email"]!.GetValue<string>())))
                return FakeResponse.Json(400, new { code = "invalid_parameter", message = "Invalid attribute value in the import" });
            var id = _processes.Count + 78;
            _processes[id] = (0, (JsonArray)contacts.DeepClone(), body["updateExistingContacts"]?.GetValue<bool>() == true);
            return FakeResponse.Json(202, new { processId = id });
        }
        if (r.Method == "GET" && ProcessPath().Match(r.Path) is { Success: true } pm)
        {
            var id = long.Parse(pm.Groups[1].Value);
            if (!_processes.TryGetValue(id, out var p)) return FakeResponse.Json(404, new { code = "document_not_found", message = "Process not found" });
            _processes[id] = p with { Polls = p.Polls + 1 };
            var status = p.Polls switch { 0 => "queued", 1 => "in_process", _ => "completed" };
            if (status == "completed" && p.Polls == 2)
                foreach (var c in p.Body)
                {
                    var email = c!["email"]!.GetValue<string>();
                    if (Contacts.ContainsKey(email) && !p.Update) continue;
                    Contacts[email] = c["attributes"]?.DeepClone().AsObject() ?? [];
                    InList.Add(email);
                }
            return FakeResponse.Json(200, new { id, name = "import", status });
        }
        if (r.Method == "POST" && r.Path == $"/v3/contacts/lists/{listId}/contacts/remove")
        {
            var emails = r.Json!["emails"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
            if (emails.Count > MaxRemove) return FakeResponse.Json(400, new { code = "invalid_parameter", message = $"at most {MaxRemove} emails" });
            var failure = emails.Where(FailRemoval.Contains).ToList();
            var success = emails.Except(failure).ToList();
            foreach (var e in success) InList.Remove(e);
            return FakeResponse.Json(201, new { contacts = new { success, failure, total = emails.Count } });
        }
        if (ContactPath().Match(r.Path) is { Success: true } cm && r.Method is "DELETE" or "PUT")
        {
            if (!r.Query.Contains("identifierType=email_id", StringComparison.Ordinal))
                return FakeResponse.Json(400, new { code = "invalid_parameter", message = "identifierType must say what the identifier is" });
            var email = Uri.UnescapeDataString(cm.Groups[1].Value);
            if (!Contacts.ContainsKey(email)) return FakeResponse.Json(404, new { code = "document_not_found", message = "Contact does not exist" });
            if (r.Method == "DELETE")
            {
                Contacts.Remove(email);
                InList.Remove(email);
                Deleted.Add(email);
                return new FakeResponse(204);
            }
            var body = r.Json?.AsObject();
            if (body is null || body.Count == 0) return FakeResponse.Json(400, new { code = "missing_parameter", message = "nothing to update" });
            if (body["emailBlacklisted"]?.GetValue<bool>() == true) Blacklisted.Add(email);
            return new FakeResponse(204);
        }
        return FakeResponse.Json(404, new { code = "not_found", message = $"{r.Method} {r.Path}" });
    }

    [GeneratedRegex("^/v3/contacts/([^/]+)$")]
    private static partial Regex ContactPath();

    [GeneratedRegex("^/v3/processes/(\\d+)$")]
    private static partial Regex ProcessPath();
}

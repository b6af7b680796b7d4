using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cdp.Tests.Activation;

/// <summary>
/// Brevo API v3 as documented: "api-key" header; POST /v3/contacts/import (jsonBody, listIds, updateExistingContacts) answers 202
/// {processId}, GET /v3/processes/{id} goes queued -> in_process -> completed; POST /v3/contacts/lists/{id}/contacts/remove
/// takes at most 150 emails and answers 201 {contacts:{success:[...], failure:[...]}}.
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
        return FakeResponse.Json(404, new { code = "not_found", message = $"{r.Method} {r.Path}" });
    }

    [GeneratedRegex("^/v3/processes/(\\d+)$")]
    private static partial Regex ProcessPath();
}

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cdp.Tests.Activation;

/// <summary>
/// SendGrid Marketing Contacts as documented: Bearer auth; PUT /v3/marketing/contacts (list_ids, contacts ≤ 30,000, body ≤ 6 MB)
/// answers 202 {job_id}, GET /v3/marketing/contacts/imports/{id} goes pending -> completed; invalid rows answer 400
/// {errors:[{field:"contacts[i].email",message}]}; POST /v3/marketing/contacts/search/emails gives ids (404 when none);
/// DELETE /v3/marketing/lists/{id}/contacts?contact_ids=... answers 202 {job_id}; DELETE /v3/marketing/contacts?ids=... deletes
/// contacts (202 {job_id}; 400 without ids); POST /v3/asm/suppressions/global {recipient_emails} adds to the global unsubscribes
/// (201, echoing recipient_emails).
/// </summary>
public sealed partial class SendGridFake(string apiKey, string listId) : VendorFake
{
    public const int MaxContacts = 30_000;

    public Dictionary<string, (string Id, JsonObject Contact)> Contacts { get; } = new(StringComparer.Ordinal);

    public HashSet<string> InList { get; } = new(StringComparer.Ordinal);

    /// <summary>Addresses the PUT refuses with a 400 naming their row.</summary>
    public HashSet<string> Invalid { get; } = new(StringComparer.Ordinal);

    /// <summary>Addresses the import job fails on: the job ends "errored" and its error report (results.errors_url) names them.</summary>
    public HashSet<string> ErroredInJob { get; } = new(StringComparer.Ordinal);

    /// <summary>SendGrid's published maxLength of the reserved fields (contact-request): a longer value refuses the whole PUT.</summary>
    private static readonly Dictionary<string, int> MaxLength = new() { ["first_name"] = 50, ["last_name"] = 50, ["city"] = 60, ["address_line_1"] = 100 };

    private readonly Dictionary<string, string> _reports = [];

    private readonly Dictionary<string, (int Polls, JsonArray Contacts)> _jobs = [];

    public HashSet<string> Deleted { get; } = new(StringComparer.Ordinal);

    /// <summary>The global unsubscribe list: SendGrid sends these addresses no marketing email at all.</summary>
    public HashSet<string> GlobalUnsubscribes { get; } = new(StringComparer.Ordinal);

    protected override FakeResponse Handle(FakeRequest r)
    {
        if (r.Method == "GET" && r.Path.StartsWith("/reports/", StringComparison.Ordinal)) // the errors_url download (a signed link: no API key)
            return _reports.TryGetValue(r.Path["/reports/".Length..^".csv".Length], out var report) ? new FakeResponse(200, report) : new FakeResponse(404);
        if (r.Header("Authorization") != "Bearer " + apiKey)
            return FakeResponse.Json(401, new { errors = new[] { new { field = (string?)null, message = "authorization required" } } });
        if (r.Method == "PUT" && r.Path == "/v3/marketing/contacts")
        {
            if (r.Body.Length > 6 * 1024 * 1024) return FakeResponse.Json(413, new { errors = new[] { new { message = "request body too large" } } });
            var body = r.Json!.AsObject();
            var contacts = body["contacts"]!.AsArray();
            if (contacts.Count > MaxContacts) return FakeResponse.Json(400, new { errors = new[] { new { field = "contacts", message = $"at most {MaxContacts} contacts" } } });
            if (body["list_ids"]?.AsArray().Any(l => l!.GetValue<string>() == listId) != true)
                return FakeResponse.Json(400, new { errors = new[] { new { field = "list_ids", message = "unknown list" } } });
            var invalid = contacts.Select((c, i) => (c, i)).Where(x => Invalid.Contains(x.c!["email"]!.GetValue<string>()))
                .Select(x => new { field = $"contacts[{x.i}].email", message = "invalid email" }).ToList();
            if (invalid.Count > 0) return FakeResponse.Json(400, new { errors = invalid });
            foreach (var c in contacts)
                foreach (var (field, max) in MaxLength)
                    if (c![field]?.GetValue<string>() is { } v && v.Length > max)
                        return FakeResponse.Json(400, new { errors = new[] { new { field, message = $"{field} must be at most {max} characters" } } });
            var job = Guid.NewGuid().ToString();
            _jobs[job] = (0, (JsonArray)contacts.DeepClone());
            return FakeResponse.Json(202, new { job_id = job });
        }
        if (r.Method == "GET" && ImportPath().Match(r.Path) is { Success: true } im)
        {
            var id = im.Groups[1].Value;
            if (!_jobs.TryGetValue(id, out var job)) return FakeResponse.Json(404, new { errors = new[] { new { message = "job not found" } } });
            _jobs[id] = job with { Polls = job.Polls + 1 };
            if (job.Polls == 0) return FakeResponse.Json(200, new { id, status = "pending", job_type = "upsert", results = new { requested_count = job.Contacts.Count } });
            var failed = job.Contacts.Select(c => c!["email"]!.GetValue<string>()).Where(ErroredInJob.Contains).ToList();
            if (job.Polls == 1)
                foreach (var c in job.Contacts)
                {
                    var email = c!["email"]!.GetValue<string>();
                    if (failed.Contains(email)) continue;
                    Contacts[email] = (Contacts.TryGetValue(email, out var old) ? old.Id : "c-" + Guid.NewGuid().ToString("N")[..12], c.DeepClone().AsObject());
                    InList.Add(email);
                }
            if (failed.Count > 0)
            {
                _reports[id] = "email,error\n" + string.Concat(failed.Select(e => $"{e},\"invalid value for custom field, row skipped\"\n"));
                return FakeResponse.Json(200, new { id, status = "errored", job_type = "upsert", results = new { requested_count = job.Contacts.Count, created_count = job.Contacts.Count - failed.Count, updated_count = 0, errored_count = failed.Count, errors_url = $"{Url}/reports/{id}.csv" } });
            }
            return FakeResponse.Json(200, new { id, status = "completed", job_type = "upsert", results = new { requested_count = job.Contacts.Count, created_count = job.Contacts.Count, updated_count = 0, errored_count = 0 } });
        }
        if (r.Method == "POST" && r.Path == "/v3/marketing/contacts/search/emails")
        {
            var emails = r.Json!["emails"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
            if (emails.Count > 100) return FakeResponse.Json(400, new { errors = new[] { new { field = "emails", message = "at most 100 emails" } } });
            var found = emails.Where(Contacts.ContainsKey).ToDictionary(e => e, e => (object)new { contact = new { id = Contacts[e].Id, email = e } });
            return found.Count == 0 ? FakeResponse.Json(404, new { errors = new[] { new { message = "No contacts found" } } }) : FakeResponse.Json(200, new { result = found });
        }
        if (r.Method == "DELETE" && r.Path == $"/v3/marketing/lists/{listId}/contacts")
        {
            var ids = Regex.Match(r.Query, "contact_ids=([^&]*)").Groups[1].Value.Split("%2C", StringSplitOptions.None).SelectMany(x => x.Split(',')).ToHashSet();
            foreach (var (email, c) in Contacts.Where(c => ids.Contains(c.Value.Id)).ToList()) InList.Remove(email);
            return FakeResponse.Json(202, new { job_id = Guid.NewGuid().ToString() });
        }
        if (r.Method == "DELETE" && r.Path == "/v3/marketing/contacts")
        {
            var ids = Uri.UnescapeDataString(Regex.Match(r.Query, "(?:^|[?&])ids=([^&]*)").Groups[1].Value).Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            if (ids.Count == 0) return FakeResponse.Json(400, new { errors = new[] { new { field = "ids", message = "ids or delete_all_contacts is required" } } });
            if (ids.Count > 100) return FakeResponse.Json(400, new { errors = new[] { new { field = "ids", message = "at most 100 ids" } } });
            foreach (var (email, _) in Contacts.Where(c => ids.Contains(c.Value.Id)).ToList())
            {
                Contacts.Remove(email);
                InList.Remove(email);
                Deleted.Add(email);
            }
            return FakeResponse.Json(202, new { job_id = Guid.NewGuid().ToString() });
        }
        if (r.Method == "POST" && r.Path == "/v3/asm/suppressions/global")
        {
            if (r.Json?["recipient_emails"] is not JsonArray emails || emails.Count == 0)
                return FakeResponse.Json(400, new { errors = new[] { new { field = "recipient_emails", message = "recipient_emails is required" } } });
            foreach (var e in emails) GlobalUnsubscribes.Add(e!.GetValue<string>());
            return FakeResponse.Json(201, new { recipient_emails = emails });
        }
        return FakeResponse.Json(404, new { errors = new[] { new { message = $"{r.Method} {r.Path}" } } });
    }

    [GeneratedRegex("^/v3/marketing/contacts/imports/([0-9a-f-]+)$")]
    private static partial Regex ImportPath();
}

using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// SendGrid Marketing Contacts (Bearer auth). Upserts: PUT /v3/marketing/contacts with list_ids (at most 30,000 contacts and 6 MB per
/// call), then the returned job_id is polled (GET /v3/marketing/contacts/imports/{id}) until completed. A 400 naming rows
/// (contacts[i].field) rejects those rows and sends the rest again. Removals: ids looked up by email
/// (POST /v3/marketing/contacts/search/emails), then DELETE /v3/marketing/lists/{id}/contacts?contact_ids=...
/// </summary>
internal sealed partial class SendGridSession(SyncTarget target, HttpClient client) : IDestinationSession
{
    private const string Vendor = "SendGrid";

    /// <summary>SendGrid's request body limit for PUT /v3/marketing/contacts.</summary>
    public const int MaxBodyBytes = 6 * 1024 * 1024;

    /// <summary>Reserved contact fields go at the top level; every other mapped field goes to custom_fields.</summary>
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "first_name", "last_name", "address_line_1", "address_line_2", "alternate_emails", "city", "country", "postal_code",
        "state_province_region", "phone_number", "whatsapp", "line", "facebook", "unique_name",
    };

    private readonly DestinationSettings _d = target.Destination;
    private readonly string _root = VendorApi.Root(target.Destination);

    public int UpsertBatchSize => DestinationSessions.UpsertBatchSize(_d);

    public int RemoveBatchSize => DestinationSessions.RemoveBatchSize(_d);

    public bool AcknowledgesAtCompletion => false;

    public bool WantsEveryMember => false;

    public bool IsolatesRefusedRows => true;

    public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static string UpsertBody(SyncTarget target, IReadOnlyList<OutgoingMember> members) => JsonBodies.Write(w =>
    {
        w.WriteStartObject();
        JsonBodies.Strings(w, "list_ids", [target.Destination.ListId]);
        w.WriteStartArray("contacts");
        foreach (var m in members)
        {
            w.WriteStartObject();
            w.WriteString("email", m.Key);
            foreach (var (field, value) in m.Fields)
            {
                if (!Reserved.Contains(field) || value.ValueKind is JsonValueKind.Null) continue;
                w.WritePropertyName(field);
                value.WriteTo(w);
            }
            if (m.Fields.Any(f => !Reserved.Contains(f.Key))) JsonBodies.Fields(w, "custom_fields", m, f => !Reserved.Contains(f));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    public async Task<IReadOnlyDictionary<string, string>> UpsertAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        var refused = new Dictionary<string, string>(StringComparer.Ordinal);
        await UpsertPartAsync(members, refused, resent: false, cancellationToken);
        return refused;
    }

    private async Task UpsertPartAsync(IReadOnlyList<OutgoingMember> members, Dictionary<string, string> refused, bool resent, CancellationToken cancellationToken)
    {
        if (members.Count == 0) return;
        var body = UpsertBody(target, members);
        if (Encoding.UTF8.GetByteCount(body) > MaxBodyBytes && members.Count > 1)
        {
            var half = members.Count / 2;
            await UpsertPartAsync(members.Take(half).ToList(), refused, resent, cancellationToken);
            await UpsertPartAsync(members.Skip(half).ToList(), refused, resent, cancellationToken);
            return;
        }
        string job;
        try
        {
            var answer = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Put, "/v3/marketing/contacts", body, cancellationToken), cancellationToken);
            job = JsonBodies.String(answer, "job_id") ?? throw new DestinationUnavailableException($"{Vendor} accepted the contacts but returned no job_id");
        }
        catch (BatchRefusedException ex)
        {
            // 400 {"errors":[{"field":"contacts[3].email","message":"..."}]}: reject the rows named, send the others again (once).
            var rows = RowErrors().Matches(ex.Message).Select(m => (Index: int.Parse(m.Groups[1].Value), Field: m.Groups[2].Value)).Where(r => r.Index < members.Count).ToList();
            if (rows.Count == 0 || resent)
            {
                foreach (var m in members) refused[m.Key] = ex.Message;
                return;
            }
            var bad = rows.Select(r => r.Index).ToHashSet();
            foreach (var r in rows) refused[members[r.Index].Key] = $"{Vendor} refused contacts[{r.Index}].{r.Field} (400)";
            await UpsertPartAsync(members.Where((_, i) => !bad.Contains(i)).ToList(), refused, resent: true, cancellationToken);
            return;
        }
        var deadline = DateTime.UtcNow + _d.PollTimeout;
        while (true)
        {
            var status = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Get, $"/v3/marketing/contacts/imports/{job}", null, cancellationToken), cancellationToken);
            switch (JsonBodies.String(status, "status"))
            {
                case "completed":
                    return;
                case "errored":
                    // "Finished with some errors": the job's error report names the rows that failed; the others landed.
                    await ErroredRowsAsync(job, status, members, refused, cancellationToken);
                    return;
                case "failed":
                    foreach (var m in members) refused[m.Key] = $"{Vendor} import job {job} failed";
                    return;
            }
            if (DateTime.UtcNow > deadline) throw new DestinationUnavailableException($"{Vendor} import job {job} still pending after {_d.PollTimeout}");
            await Task.Delay(_d.PollInterval, cancellationToken);
        }
    }

    /// <summary>
    /// An errored import job: its results.errors_url report (CSV with the contact's email and the error, gzip or plain) names
    /// the rows that failed; only those are rejected. A report that cannot be read or names none of the batch rejects every row
    /// (they are sent again next run, an upsert).
    /// </summary>
    private async Task ErroredRowsAsync(string job, JsonElement status, IReadOnlyList<OutgoingMember> members, Dictionary<string, string> refused, CancellationToken cancellationToken)
    {
        var inBatch = members.Select(m => m.Key).ToHashSet(StringComparer.Ordinal);
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        var url = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("results", out var results) ? JsonBodies.String(results, "errors_url") : null;
        string? unreadable = url is null ? "it gave no errors_url" : null;
        if (url is not null)
        {
            try
            {
                var report = await SendAsync(HttpMethod.Get, url, null, cancellationToken);
                using (report)
                {
                    var bytes = await report.Content.ReadAsByteArrayAsync(cancellationToken);
                    foreach (var (email, error) in SendGridErrorReport.Rows(bytes))
                        if (inBatch.Contains(email)) named[email] = $"{Vendor} import job {job} errored for this contact: {error}";
                }
            }
            catch (Exception ex) when (ex is BatchRefusedException or InvalidDataException or CsvHelper.CsvFormatException or IOException)
            {
                unreadable = "its error report could not be read: " + ex.Message;
            }
        }
        if (named.Count == 0)
        {
            foreach (var m in members) refused[m.Key] = $"{Vendor} import job {job} errored and {unreadable ?? "its error report names none of the batch"}";
            return;
        }
        foreach (var (email, reason) in named) refused[email] = reason;
    }

    public async Task<IReadOnlyDictionary<string, string>> RemoveAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        try
        {
            var body = JsonBodies.Write(w => { w.WriteStartObject(); JsonBodies.Strings(w, "emails", members.Select(m => m.Key)); w.WriteEndObject(); });
            var ids = new List<string>();
            try
            {
                var found = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Post, "/v3/marketing/contacts/search/emails", body, cancellationToken), cancellationToken);
                if (found.ValueKind == JsonValueKind.Object && found.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object)
                    foreach (var r in result.EnumerateObject())
                        if (r.Value.TryGetProperty("contact", out var contact) && JsonBodies.String(contact, "id") is { } id) ids.Add(id);
            }
            catch (BatchRefusedException ex) when (ex.Message.Contains(" 404 ", StringComparison.Ordinal))
            {
                return Refusals.None; // none of them is a contact any more: nothing to take out of the list
            }
            if (ids.Count == 0) return Refusals.None;
            (await SendAsync(HttpMethod.Delete, $"/v3/marketing/lists/{Uri.EscapeDataString(_d.ListId)}/contacts?contact_ids={string.Join(",", ids.Select(Uri.EscapeDataString))}", null, cancellationToken)).Dispose();
            return Refusals.None;
        }
        catch (BatchRefusedException ex)
        {
            return Refusals.All(members, ex.Message);
        }
    }

    [GeneratedRegex("contacts\\[(\\d+)\\]\\.?([A-Za-z0-9_.]*)")]
    private static partial Regex RowErrors();

    /// <param name="path">A path under the API root, or an absolute URL (a report SendGrid links to; the key goes only to the API's own host).</param>
    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json, CancellationToken cancellationToken) =>
        DestinationHttp.SendAsync(client, Vendor, () =>
        {
            var absolute = Uri.TryCreate(path, UriKind.Absolute, out var u) && u.Scheme is "http" or "https";
            var request = new HttpRequestMessage(method, absolute ? path : _root + path);
            if (!absolute || string.Equals(u!.Authority, new Uri(_root).Authority, StringComparison.OrdinalIgnoreCase))
                VendorApi.Authorize(request, _d);
            if (json is not null) request.Content = JsonBodies.Content(json);
            return request;
        }, cancellationToken);

    public Task CompleteAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

using System.Text.Json;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// Brevo API v3 ("api-key" header). Upserts: POST /v3/contacts/import (jsonBody with attributes, listIds, updateExistingContacts),
/// then the import process is polled (GET /v3/processes/{id}) until completed. Removals: POST /v3/contacts/lists/{listId}/contacts/remove,
/// at most 150 emails per call; its failure[] names the addresses refused.
/// </summary>
internal sealed class BrevoSession(SyncTarget target, HttpClient client) : IDestinationSession
{
    private const string Vendor = "Brevo";

    private readonly DestinationSettings _d = target.Destination;
    private readonly string _root = VendorApi.Root(target.Destination);

    public int UpsertBatchSize => DestinationSessions.UpsertBatchSize(_d);

    public int RemoveBatchSize => DestinationSessions.RemoveBatchSize(_d);

    public bool AcknowledgesAtCompletion => false;

    public bool WantsEveryMember => false;

    public bool IsolatesRefusedRows => true;

    public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static string ImportBody(SyncTarget target, IReadOnlyList<OutgoingMember> members) => JsonBodies.Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("jsonBody");
        foreach (var m in members)
        {
            w.WriteStartObject();
            w.WriteString("email", m.Key);
            JsonBodies.Fields(w, "attributes", m);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("listIds");
        w.WriteNumberValue(long.Parse(target.Destination.ListId, System.Globalization.CultureInfo.InvariantCulture));
        w.WriteEndArray();
        w.WriteBoolean("updateExistingContacts", true);
        w.WriteBoolean("emptyContactsAttributes", false);
        w.WriteEndObject();
    });

    public async Task<IReadOnlyDictionary<string, string>> UpsertAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Post, "/v3/contacts/import", ImportBody(target, members), cancellationToken), cancellationToken);
            var process = JsonBodies.String(answer, "processId") ?? throw new DestinationUnavailableException($"{Vendor} accepted the import but returned no processId");
            var deadline = DateTime.UtcNow + _d.PollTimeout;
            while (true)
            {
                var p = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Get, $"/v3/processes/{process}", null, cancellationToken), cancellationToken);
                var status = JsonBodies.String(p, "status");
                if (status == "completed") return Refusals.None;
                if (status is "failed" or "aborted") return Refusals.All(members, $"{Vendor} import process {process} {status}");
                if (DateTime.UtcNow > deadline) throw new DestinationUnavailableException($"{Vendor} import process {process} still '{status}' after {_d.PollTimeout}");
                await Task.Delay(_d.PollInterval, cancellationToken);
            }
        }
        catch (BatchRefusedException ex)
        {
            return Refusals.All(members, ex.Message);
        }
    }

    public async Task<IReadOnlyDictionary<string, string>> RemoveAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        var body = JsonBodies.Write(w => { w.WriteStartObject(); JsonBodies.Strings(w, "emails", members.Select(m => m.Key)); w.WriteEndObject(); });
        try
        {
            var answer = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Post, $"/v3/contacts/lists/{_d.ListId}/contacts/remove", body, cancellationToken), cancellationToken);
            var refused = new Dictionary<string, string>(StringComparer.Ordinal);
            if (answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("contacts", out var contacts))
                foreach (var f in JsonBodies.Array(contacts, "failure"))
                    refused[f.GetString()!.ToLowerInvariant()] = $"{Vendor} did not remove it from list {_d.ListId}";
            return refused;
        }
        catch (BatchRefusedException ex)
        {
            return Refusals.All(members, ex.Message);
        }
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json, CancellationToken cancellationToken) =>
        DestinationHttp.SendAsync(client, Vendor, () =>
        {
            var request = new HttpRequestMessage(method, _root + path);
            VendorApi.Authorize(request, _d);
            if (json is not null) request.Content = JsonBodies.Content(json);
            return request;
        }, cancellationToken);

    public Task CompleteAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

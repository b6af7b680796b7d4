using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// Mailchimp Marketing API 3.0. Members are upserted with the batch call (POST /3.0/lists/{list_id}, members[] with
/// update_existing, at most 500); membership is the static segment (tag) "cdp-&lt;sync&gt;" that the sync owns
/// (POST /3.0/lists/{list_id}/segments/{segment_id}, members_to_add / members_to_remove). Per-member errors in a 200
/// answer (errors[]) are rejected rows. Basic auth with the API key; the data centre comes from the key's suffix.
/// </summary>
internal sealed class MailchimpSession(SyncTarget target, HttpClient client, MemberState state) : IDestinationSession
{
    private const string Vendor = "Mailchimp";
    private const string SegmentIdKey = "mailchimpSegmentId";

    private readonly DestinationSettings _d = target.Destination;
    private readonly string _root = VendorApi.Root(target.Destination);
    private string? _segmentId;
    private bool _segmentRecovered;
    private readonly List<string> _notes = [];

    public int UpsertBatchSize => DestinationSessions.UpsertBatchSize(_d);

    public int RemoveBatchSize => DestinationSessions.RemoveBatchSize(_d);

    public bool AcknowledgesAtCompletion => false;

    public bool WantsEveryMember => false;

    public bool IsolatesRefusedRows => true;

    public static string SegmentName(string sync) => "cdp-" + sync;

    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        _segmentId = state.Remote(target.Sync, SegmentIdKey);
        if (_segmentId is not null) return;
        await FindOrCreateSegmentAsync(cancellationToken);
    }

    public IReadOnlyList<string> TakeNotes()
    {
        var notes = _notes.ToList();
        _notes.Clear();
        return notes;
    }

    /// <summary>Looks the sync's static segment up by name, or creates it; caches its id in the member state.</summary>
    private async Task<bool> FindOrCreateSegmentAsync(CancellationToken cancellationToken)
    {
        var name = SegmentName(target.Sync);
        var list = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Get,
            $"/3.0/lists/{_d.ListId}/segments?type=static&count=1000&fields=segments.id,segments.name", null, cancellationToken), cancellationToken);
        _segmentId = JsonBodies.Array(list, "segments").FirstOrDefault(s => JsonBodies.String(s, "name") == name) is { ValueKind: JsonValueKind.Object } found
            ? JsonBodies.String(found, "id")
            : null;
        if (_segmentId is null)
        {
            var body = JsonBodies.Write(w => { w.WriteStartObject(); w.WriteString("name", name); w.WriteStartArray("static_segment"); w.WriteEndArray(); w.WriteEndObject(); });
            var created = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Post, $"/3.0/lists/{_d.ListId}/segments", body, cancellationToken), cancellationToken);
            _segmentId = JsonBodies.String(created, "id") ?? throw new DestinationUnavailableException($"{Vendor} created the segment '{name}' but returned no id");
            state.SetRemote(target.Sync, SegmentIdKey, _segmentId);
            return true;
        }
        state.SetRemote(target.Sync, SegmentIdKey, _segmentId);
        return false;
    }

    public static string UpsertBody(SyncTarget target, IReadOnlyList<OutgoingMember> members, string? status = null) => JsonBodies.Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("members");
        foreach (var m in members)
        {
            w.WriteStartObject();
            w.WriteString("email_address", m.Key);
            if (status is not null) w.WriteString("status", status);
            else w.WriteString("status_if_new", target.Destination.NewMemberStatus);
            if (m.Fields.Count > 0) JsonBodies.Fields(w, "merge_fields", m);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteBoolean("update_existing", true);
        w.WriteEndObject();
    });

    public async Task<IReadOnlyDictionary<string, string>> UpsertAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        var refused = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            var answer = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Post, $"/3.0/lists/{_d.ListId}", UpsertBody(target, members), cancellationToken), cancellationToken);
            foreach (var e in JsonBodies.Array(answer, "errors"))
                if (JsonBodies.String(e, "email_address") is { } email)
                    refused[email.ToLowerInvariant()] = $"{JsonBodies.String(e, "error_code")}: {JsonBodies.String(e, "error")}";
            var accepted = members.Where(m => !refused.ContainsKey(m.Key)).Select(m => m.Key).ToList();
            if (accepted.Count > 0) await SegmentAsync("members_to_add", accepted, refused, cancellationToken);
        }
        catch (BatchRefusedException ex)
        {
            return Refusals.All(members, ex.Message);
        }
        return refused;
    }

    public async Task<IReadOnlyDictionary<string, string>> RemoveAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        var refused = new Dictionary<string, string>(StringComparer.Ordinal);
        if (_d.ExitPolicy == ExitPolicy.None) return refused;
        try
        {
            var emails = members.Select(m => m.Key).ToList();
            await SegmentAsync("members_to_remove", emails, refused, cancellationToken);
            if (_d.ExitPolicy == ExitPolicy.Unsubscribe)
            {
                var answer = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Post, $"/3.0/lists/{_d.ListId}", UpsertBody(target, members, "unsubscribed"), cancellationToken), cancellationToken);
                foreach (var e in JsonBodies.Array(answer, "errors"))
                    if (JsonBodies.String(e, "email_address") is { } email) refused[email.ToLowerInvariant()] = $"unsubscribe: {JsonBodies.String(e, "error")}";
            }
            else if (_d.ExitPolicy == ExitPolicy.Archive)
            {
                // DELETE .../members/{subscriber_hash} archives the contact; 404 means it is gone already.
                foreach (var email in emails)
                {
                    try
                    {
                        (await SendAsync(HttpMethod.Delete, $"/3.0/lists/{_d.ListId}/members/{SubscriberHash(email)}", null, cancellationToken)).Dispose();
                    }
                    catch (BatchRefusedException ex) when (ex.NotFound)
                    {
                    }
                    catch (BatchRefusedException ex)
                    {
                        refused[email] = "archive: " + ex.Message;
                    }
                }
            }
        }
        catch (BatchRefusedException ex)
        {
            return Refusals.All(members, ex.Message);
        }
        return refused;
    }

    /// <summary>
    /// members_to_add / members_to_remove of the sync's static segment; errors[] name the addresses refused. A 404 means the
    /// cached segment is gone (deleted in Mailchimp): it is looked up by name again or recreated, once per run, and the run says so.
    /// </summary>
    private async Task SegmentAsync(string field, IReadOnlyList<string> emails, Dictionary<string, string> refused, CancellationToken cancellationToken)
    {
        var body = JsonBodies.Write(w => { w.WriteStartObject(); JsonBodies.Strings(w, field, emails); w.WriteEndObject(); });
        JsonElement answer;
        try
        {
            answer = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Post, $"/3.0/lists/{_d.ListId}/segments/{_segmentId}", body, cancellationToken), cancellationToken);
        }
        catch (BatchRefusedException ex) when (ex.NotFound && !_segmentRecovered)
        {
            _segmentRecovered = true;
            var gone = _segmentId;
            var created = await FindOrCreateSegmentAsync(cancellationToken);
            _notes.Add($"{Vendor}: the sync's static segment {gone} answered 404 (deleted in Mailchimp?); " +
                       (created ? $"created '{SegmentName(target.Sync)}' again as {_segmentId}" : $"found '{SegmentName(target.Sync)}' again as {_segmentId}") +
                       " and carried on" + (created ? "; members synced by earlier runs are put back in it by a full resync (fullResync=true)" : ""));
            answer = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Post, $"/3.0/lists/{_d.ListId}/segments/{_segmentId}", body, cancellationToken), cancellationToken);
        }
        foreach (var e in JsonBodies.Array(answer, "errors"))
            foreach (var email in JsonBodies.Array(e, "email_addresses"))
                refused[email.GetString()!.ToLowerInvariant()] = $"segment {field}: {JsonBodies.String(e, "error")}";
    }

    public static string SubscriberHash(string email) =>
        Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(email.ToLowerInvariant())));

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

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Cdp.Modules.Activation.Engine;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// JSON batches POSTed to BaseUrl, signed as Standard Webhooks: webhook-id (derived from the sync and the body, so it is the
/// same on every retry and when a crash makes the next run resend the batch), webhook-timestamp (unix seconds) and
/// webhook-signature "v1,&lt;base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"&gt;" with the key in "whsec_&lt;base64&gt;".
/// 4xx refuses the batch for good (its rows are rejected); 5xx and timeouts are retried.
/// </summary>
internal sealed class WebhookSession(SyncTarget target, HttpClient client, TimeProvider clock) : IDestinationSession
{
    private const string Vendor = "Webhook";

    private readonly byte[] _key = Convert.FromBase64String(target.Destination.Secret["whsec_".Length..]);

    public int UpsertBatchSize => DestinationSessions.UpsertBatchSize(target.Destination);

    public int RemoveBatchSize => DestinationSessions.RemoveBatchSize(target.Destination);

    public bool AcknowledgesAtCompletion => false;

    public bool WantsEveryMember => false;

    public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static string Body(SyncTarget target, string type, IReadOnlyList<OutgoingMember> members) => JsonBodies.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        w.WriteString("sync", target.Sync);
        w.WriteString("segment", target.Settings.Segment);
        w.WriteString("identifier", target.Settings.Identifier);
        w.WriteStartArray("members");
        foreach (var m in members)
        {
            w.WriteStartObject();
            w.WriteString("identifier", m.Key);
            w.WriteString("profileId", m.ProfileId);
            if (type != "members.removed") JsonBodies.Fields(w, "fields", m);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    public Task<IReadOnlyDictionary<string, string>> UpsertAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken) =>
        PostAsync(Body(target, "members.upserted", members), members, cancellationToken);

    public Task<IReadOnlyDictionary<string, string>> RemoveAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken) =>
        PostAsync(Body(target, "members.removed", members), members, cancellationToken);

    public static string MessageId(string sync, string body) =>
        "msg_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sync + "\n" + body)))[..32];

    public static string Sign(byte[] key, string id, long timestamp, string body) =>
        "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp.ToString(CultureInfo.InvariantCulture)}.{body}")));

    private async Task<IReadOnlyDictionary<string, string>> PostAsync(string body, IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        var id = MessageId(target.Sync, body);
        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
        var signature = Sign(_key, id, timestamp, body);
        try
        {
            (await DestinationHttp.SendAsync(client, Vendor, () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, target.Destination.BaseUrl) { Content = JsonBodies.Content(body) };
                request.Headers.Add("webhook-id", id);
                request.Headers.Add("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
                request.Headers.Add("webhook-signature", signature);
                return request;
            }, cancellationToken)).Dispose();
            return Refusals.None;
        }
        catch (BatchRefusedException ex)
        {
            return Refusals.All(members, ex.Message);
        }
    }

    public Task CompleteAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Cdp.Modules.Activation.Engine;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// JSON batches POSTed to BaseUrl, signed as Standard Webhooks: webhook-id (one per message: new for every batch sent, the same
/// on every retry of that batch, never shared by two messages even when their bodies are equal), webhook-timestamp (unix
/// seconds) and webhook-signature "v1,&lt;base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"&gt;" with the key in "whsec_&lt;base64&gt;".
/// The timestamp and signature are made for each attempt by <see cref="WebhookSigningHandler"/> (a retry after a long
/// Retry-After is not refused by the receiver as too old). 4xx refuses the batch for good (its rows are rejected); 5xx and
/// timeouts are retried.
/// </summary>
internal sealed class WebhookSession(SyncTarget target, HttpClient client) : IDestinationSession
{
    private const string Vendor = "Webhook";

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

    /// <summary>A new message id: 128 random bits (a message is one batch; its retries keep the id, no two messages share one).</summary>
    public static string NewMessageId() => "msg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The signing key from "whsec_&lt;base64&gt;".</summary>
    public static byte[] Key(string secret) => Convert.FromBase64String(secret["whsec_".Length..]);

    public static string Sign(byte[] key, string id, long timestamp, string body) =>
        "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp.ToString(CultureInfo.InvariantCulture)}.{body}")));

    private async Task<IReadOnlyDictionary<string, string>> PostAsync(string body, IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        var id = NewMessageId();
        try
        {
            (await DestinationHttp.SendAsync(client, Vendor, () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, target.Destination.BaseUrl) { Content = JsonBodies.Content(body) };
                request.Headers.Add("webhook-id", id); // webhook-timestamp and webhook-signature: per attempt, by WebhookSigningHandler
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

/// <summary>
/// Signs each attempt of a webhook request (it sits inside the retry pipeline): webhook-timestamp is the attempt's time and
/// webhook-signature covers it, so a receiver's tolerance (Standard Webhooks: 5 minutes) is met however long the retries waited.
/// </summary>
internal sealed class WebhookSigningHandler(byte[] key, TimeProvider clock) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Headers.TryGetValues("webhook-id", out var ids) && request.Content is not null)
        {
            var body = await request.Content.ReadAsStringAsync(cancellationToken);
            var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
            request.Headers.Remove("webhook-timestamp");
            request.Headers.Remove("webhook-signature");
            request.Headers.Add("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add("webhook-signature", WebhookSession.Sign(key, ids.First(), timestamp, body));
        }
        return await base.SendAsync(request, cancellationToken);
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;
using Cdp.Modules.Profiles.Contracts;

namespace Cdp.Modules.Activation.Destinations.Meta;

/// <summary>
/// Meta Marketing API, customer-list custom audiences (Graph API, version from ApiVersion). The audience is AudienceId, or one
/// the sync creates once (POST /act_{ad_account}/customaudiences, subtype CUSTOM, customer_file_source; value-based when the sync
/// has a ValueTrait) and keeps in its state. A delta run adds with POST /{audience}/users and removes with DELETE
/// /{audience}/users; a full resync uploads every member through the replace session (POST /{audience}/usersreplace, one
/// session_id, batch_seq from 1, last_batch_flag on the last batch), after which Meta has dropped everyone not uploaded, so
/// the run's removals need no call. Rows are hashed identifiers (<see cref="MetaAudienceRows"/>), at most 10,000 per request.
/// Errors: Meta's error codes are read by <see cref="MetaGraphErrors"/> (rate limits retried with backoff, 190 stops the run).
/// </summary>
internal sealed class MetaAudienceSession(SyncTarget target, HttpClient client, MemberState state, IProfileReader profiles) : IDestinationSession
{
    public const string Vendor = "Meta";

    /// <summary>The id of the audience the sync created (activation_syncs).</summary>
    public const string AudienceIdKey = "metaAudienceId";

    private readonly DestinationSettings _d = target.Destination;
    private readonly MetaAudienceRows _rows = new(target.Settings, target.Destination);
    private readonly List<string> _notes = [];
    private string _audienceId = "";
    private bool _audienceRecreated;

    // The replace session of a full run: the batch held back until the next one shows it was not the last.
    private readonly long _sessionId = RandomNumberGenerator.GetInt32(1, int.MaxValue) * 1_000L + RandomNumberGenerator.GetInt32(0, 1000);
    private int _batchSeq;
    private long _uploaded;
    private long _estimatedTotal;
    private List<OutgoingMember>? _held;

    public int UpsertBatchSize => DestinationSessions.UpsertBatchSize(_d);

    public int RemoveBatchSize => DestinationSessions.RemoveBatchSize(_d);

    /// <summary>A replace is complete only with its last batch: the members of a full run are committed at the end.</summary>
    public bool AcknowledgesAtCompletion => target.Full;

    public bool WantsEveryMember => false;

    public static string AudienceName(string sync) => "cdp-" + sync;

    public static string Root(DestinationSettings d) => d.BaseUrl.Length > 0 ? d.BaseUrl.TrimEnd('/') : "https://graph.facebook.com";

    public IReadOnlyList<string> TakeNotes()
    {
        var notes = _notes.ToList();
        _notes.Clear();
        return notes;
    }

    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        _audienceId = _d.AudienceId.Length > 0 ? _d.AudienceId : state.Remote(target.Sync, AudienceIdKey) ?? "";
        _estimatedTotal = state.Count(target.Sync).Members;
        if (_audienceId.Length == 0) await CreateAudienceAsync(cancellationToken);
    }

    private async Task CreateAudienceAsync(CancellationToken cancellationToken)
    {
        var account = _d.AdAccountId.StartsWith("act_", StringComparison.Ordinal) ? _d.AdAccountId[4..] : _d.AdAccountId;
        var body = JsonBodies.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("name", AudienceName(target.Sync));
            w.WriteString("subtype", "CUSTOM");
            w.WriteString("customer_file_source", _d.CustomerFileSource);
            w.WriteString("description", $"Cdp sync {target.Sync}: members of the segment {target.Settings.Segment}");
            if (_rows.ValueBased) w.WriteBoolean("is_value_based", true);
            w.WriteEndObject();
        });
        var created = await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Post, $"act_{account}/customaudiences", body, cancellationToken), cancellationToken);
        _audienceId = JsonBodies.String(created, "id") is { Length: > 0 } id ? id.Trim('"')
            : throw new DestinationUnavailableException($"{Vendor} created the audience '{AudienceName(target.Sync)}' but returned no id");
        state.SetRemote(target.Sync, AudienceIdKey, _audienceId);
        _notes.Add($"{Vendor}: created the custom audience '{AudienceName(target.Sync)}' ({_audienceId}){(_rows.ValueBased ? ", value-based" : "")} in ad account {account}");
    }

    /// <summary>
    /// A call to the audience the sync created, which may have been deleted in Ads Manager since (Meta: object does not exist):
    /// the audience is created again, once per run, the run says so, and the call is sent to the new one. Members synced by
    /// earlier runs are put in the new audience by a full resync. A configured AudienceId is never replaced.
    /// </summary>
    private async Task<JsonElement> AudienceCallAsync(HttpMethod method, string edge, Func<string> body, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonBodies.ReadAsync(await SendAsync(method, $"{_audienceId}/{edge}", body(), cancellationToken), cancellationToken);
        }
        catch (BatchRefusedException ex) when (ex.NotFound && _d.AudienceId.Length == 0 && !_audienceRecreated)
        {
            _audienceRecreated = true;
            var gone = _audienceId;
            await CreateAudienceAsync(cancellationToken);
            _notes.Add($"{Vendor}: the sync's audience {gone} no longer exists (deleted in Ads Manager?); created {_audienceId} and carried on; " +
                       "members synced by earlier runs are put back by a full resync (fullResync=true)");
            return await JsonBodies.ReadAsync(await SendAsync(method, $"{_audienceId}/{edge}", body(), cancellationToken), cancellationToken);
        }
    }

    /// <summary>What a dry run shows: the first request's body, hashes only.</summary>
    public static string Preview(SyncTarget target, IReadOnlyList<OutgoingMember> members)
    {
        var rows = new MetaAudienceRows(target.Settings, target.Destination);
        return rows.Body(members, withValue: true, target.Full ? new ReplaceBatch(0, 1, false, members.Count) : null);
    }

    public async Task<IReadOnlyDictionary<string, string>> UpsertAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        if (target.Full)
        {
            if (_held is not null) await ReplaceAsync(_held, last: false, cancellationToken);
            _held = members.ToList();
            return Refusals.None;
        }
        try
        {
            Count(await AudienceCallAsync(HttpMethod.Post, "users", () => _rows.Body(members, withValue: true), cancellationToken), "add");
            return Refusals.None;
        }
        catch (BatchRefusedException ex)
        {
            return Refusals.All(members, ex.Message);
        }
    }

    public async Task<IReadOnlyDictionary<string, string>> RemoveAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        if (target.Full && _held is not null) await ReplaceAsync(_held, last: true, cancellationToken);
        _held = null;
        if (target.Full && _batchSeq > 0) return Refusals.None; // the replace dropped everyone it was not sent
        var rows = members.Select(RemovalRow).Where(r => r.Fields.Count > 0).ToList();
        if (rows.Count == 0) return Refusals.None;
        try
        {
            Count(await AudienceCallAsync(HttpMethod.Delete, "users", () => _rows.Body(rows, withValue: false), cancellationToken), "remove");
            return Refusals.None;
        }
        catch (BatchRefusedException ex)
        {
            return Refusals.All(members, ex.Message);
        }
    }

    /// <summary>
    /// The row that names a leaving member: every identifier of the profile while it still has the member's key (Meta matches
    /// people by any of them), else the key alone (the person was erased, or the key is an old address).
    /// </summary>
    private OutgoingMember RemovalRow(OutgoingMember m)
    {
        var byKey = _rows.KeyOnly(m.Key);
        if (byKey.Length == 1 && profiles.Get(m.ProfileId) is { } view)
        {
            var fields = _rows.Fields(view);
            if (fields.Any(f => f.Key == byKey[0].Key && f.Value.ValueKind == JsonValueKind.String && f.Value.GetString() == byKey[0].Value.GetString()))
                return m with { Fields = fields.Where(f => f.Key != MetaAudienceRows.ValueKey && f.Value.ValueKind == JsonValueKind.String).ToList() };
        }
        return m with { Fields = byKey };
    }

    private async Task ReplaceAsync(List<OutgoingMember> members, bool last, CancellationToken cancellationToken)
    {
        _uploaded += members.Count;
        var batch = new ReplaceBatch(_sessionId, ++_batchSeq, last, Math.Max(_estimatedTotal, _uploaded));
        try
        {
            // Only the first batch may move to a recreated audience: a session cannot continue in another audience.
            Count(batch.BatchSeq == 1
                ? await AudienceCallAsync(HttpMethod.Post, "usersreplace", () => _rows.Body(members, withValue: true, batch), cancellationToken)
                : await JsonBodies.ReadAsync(await SendAsync(HttpMethod.Post, $"{_audienceId}/usersreplace", _rows.Body(members, withValue: true, batch), cancellationToken), cancellationToken),
                "replace");
        }
        catch (BatchRefusedException ex)
        {
            // One refused batch breaks the whole replace: nothing of this run is committed, the next full resync starts a new session.
            throw new DestinationUnavailableException($"{Vendor} refused batch {batch.BatchSeq} of the replace session {_sessionId}: {ex.Message}", ex);
        }
    }

    /// <summary>Meta answers num_received / num_invalid_entries: rows it could not use (no usable identifier) are told in run history.</summary>
    private void Count(JsonElement answer, string what)
    {
        if (answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("num_invalid_entries", out var invalid) && invalid.TryGetInt64(out var n) && n > 0)
            _notes.Add(string.Create(CultureInfo.InvariantCulture, $"{Vendor} ({what}): {n} row(s) had no identifier Meta could use (num_invalid_entries)"));
    }

    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        if (_held is not null) await ReplaceAsync(_held, last: true, cancellationToken);
        _held = null;
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string json, CancellationToken cancellationToken) =>
        MetaGraphErrors.SendAsync(client, _d, method, path, json, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

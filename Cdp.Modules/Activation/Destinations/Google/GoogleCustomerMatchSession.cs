using System.Text.Json;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Activation.Engine;

namespace Cdp.Modules.Activation.Destinations.Google;

/// <summary>
/// Google Ads Customer Match: one OfflineUserDataJob per run. A full resync starts the job with removeAll (Google has no
/// replace session for Customer Match), then every batch adds create operations (members joining or changed) and remove
/// operations (members leaving) carrying only SHA-256 hashes of the normalised identifiers (and the unhashed country and
/// postal code Google requires); at completion the job is run and polled. Members are acknowledged only then (the list does
/// not change before the job runs); operations Google refuses in addOperations (partialFailureError) reject only their member.
/// A job still PENDING/RUNNING at PollTimeout is left to Google (it finishes on its own; Customer Match can take hours) and run
/// history says so; a FAILED job stops the run and nothing is recorded as sent.
/// </summary>
internal sealed class GoogleCustomerMatchSession(SyncTarget target, HttpClient client) : IDestinationSession
{
    /// <summary>Google: at most 100,000 user identifiers per addOperations request (across all its operations) and 20 per UserData.</summary>
    public const int MaxIdentifiersPerRequest = 100_000;

    private readonly DestinationSettings _d = target.Destination;
    private readonly bool _keyIsEmail = KeyIsEmail(target.Settings);
    private readonly bool _withValue = target.Settings.ValueTrait.Length > 0;
    private readonly CustomerMatchJob _job = new(client, target.Destination, withAttributes: target.Settings.ValueTrait.Length > 0, withConsent: true);
    private readonly List<string> _notes = [];

    public int UpsertBatchSize => DestinationSessions.UpsertBatchSize(_d);

    public int RemoveBatchSize => DestinationSessions.RemoveBatchSize(_d);

    public bool AcknowledgesAtCompletion => true;

    public bool WantsEveryMember => false;

    public static bool KeyIsEmail(SyncSettings s) => s.Identifier == "email";

    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (!target.Full) return;
        var refused = await _job.AddAsync(w => { w.WriteStartObject(); w.WriteBoolean("removeAll", true); w.WriteEndObject(); }, cancellationToken);
        if (refused.Count > 0) throw new DestinationUnavailableException($"{CustomerMatchJob.Vendor} refused removeAll at the start of the full resync: {refused.Values.First()}");
    }

    public Task<IReadOnlyDictionary<string, string>> UpsertAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken) =>
        SendAsync("create", members, cancellationToken);

    public Task<IReadOnlyDictionary<string, string>> RemoveAsync(IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken) =>
        SendAsync("remove", members, cancellationToken);

    /// <summary>The first addOperations body a dry run shows: hashes only, never a raw identifier.</summary>
    public static string Preview(SyncTarget target, IReadOnlyList<OutgoingMember> members)
    {
        var keyIsEmail = KeyIsEmail(target.Settings);
        var users = members.Select(m => CustomerMatchIdentifiers.Of(m, keyIsEmail)).Where(u => u.IdentifierCount > 0).ToList();
        return Body("create", users, target.Settings.ValueTrait.Length > 0);
    }

    private static string Body(string operation, IReadOnlyList<CustomerMatchUser> users, bool withValue) => JsonBodies.Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("operations");
        WriteOperations(w, operation, users, withValue);
        w.WriteEndArray();
        w.WriteBoolean("enablePartialFailure", true);
        w.WriteEndObject();
    });

    private static void WriteOperations(Utf8JsonWriter w, string operation, IEnumerable<CustomerMatchUser> users, bool withValue)
    {
        foreach (var u in users)
        {
            w.WriteStartObject();
            w.WritePropertyName(operation);
            // A removal needs only the identifiers; a value on it would be ignored at best.
            CustomerMatchIdentifiers.WriteUserData(w, u, withValue && operation == "create");
            w.WriteEndObject();
        }
    }

    /// <summary>Consecutive slices of <paramref name="identifierCounts"/> holding at most <paramref name="maxIdentifiers"/> identifiers each.</summary>
    public static IEnumerable<(int Start, int Count)> Requests(IReadOnlyList<int> identifierCounts, int maxIdentifiers)
    {
        int start = 0, sum = 0;
        for (var i = 0; i < identifierCounts.Count; i++)
        {
            if (i > start && sum + identifierCounts[i] > maxIdentifiers)
            {
                yield return (start, i - start);
                start = i;
                sum = 0;
            }
            sum += identifierCounts[i];
        }
        if (identifierCounts.Count > start) yield return (start, identifierCounts.Count - start);
    }

    private async Task<IReadOnlyDictionary<string, string>> SendAsync(string operation, IReadOnlyList<OutgoingMember> members, CancellationToken cancellationToken)
    {
        var refused = new Dictionary<string, string>(StringComparer.Ordinal);
        var sendable = new List<(OutgoingMember Member, CustomerMatchUser User)>(members.Count);
        foreach (var m in members)
        {
            var user = CustomerMatchIdentifiers.Of(m, _keyIsEmail);
            if (user.IdentifierCount == 0) refused[m.Key] = _keyIsEmail ? "no identifier Google accepts (the email does not normalise)" : "no identifier Google accepts (the phone number is no valid number; a number without +country code needs the member's countryCode)";
            else sendable.Add((m, user));
        }
        foreach (var (start, count) in Requests(sendable.Select(s => s.User.IdentifierCount).ToList(), MaxIdentifiersPerRequest))
        {
            var slice = sendable.GetRange(start, count);
            try
            {
                var failures = await _job.AddAsync(w => WriteOperations(w, operation, slice.Select(s => s.User), _withValue), cancellationToken);
                foreach (var (index, reason) in failures)
                {
                    if (index >= 0 && index < slice.Count) refused[slice[index].Member.Key] = reason;
                    else foreach (var s in slice) refused.TryAdd(s.Member.Key, reason);
                }
            }
            catch (BatchRefusedException ex)
            {
                foreach (var s in slice) refused[s.Member.Key] = ex.Message;
            }
        }
        return refused;
    }

    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        if (_job.ResourceName is null) return; // nothing to change: no job was created
        var outcome = await _job.RunAsync(cancellationToken);
        switch (outcome.Status)
        {
            case "SUCCESS":
                return;
            case "FAILED":
                throw new DestinationUnavailableException(CustomerMatchJob.Describe(outcome) + " (nothing of this run is recorded as sent: the next run sends it again)");
            default:
                _notes.Add($"{CustomerMatchJob.Vendor} job {outcome.Job} was still {outcome.Status} after PollTimeout {_d.PollTimeout:g}: Google finishes it on its own " +
                           "(Customer Match processing can take hours); its operations were accepted and are recorded as sent");
                return;
        }
    }

    public IReadOnlyList<string> TakeNotes()
    {
        var notes = _notes.ToList();
        _notes.Clear();
        return notes;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

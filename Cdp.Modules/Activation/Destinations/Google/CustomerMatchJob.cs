using System.Globalization;
using System.Text.Json;
using Cdp.Modules.Activation.Configuration;

namespace Cdp.Modules.Activation.Destinations.Google;

/// <summary>How a Customer Match job ended: SUCCESS, FAILED (with Google's failureReason), or still PENDING/RUNNING at PollTimeout.</summary>
internal sealed record CustomerMatchJobOutcome(string Status, string? FailureReason, string Job);

/// <summary>
/// One OfflineUserDataJob of the Google Ads API (REST): created for the destination's user list
/// (POST /{version}/customers/{id}/offlineUserDataJobs:create), fed with operations (POST /{version}/{job}:addOperations with
/// enablePartialFailure, so that a bad operation costs only itself: partialFailureError names it by its index), run
/// (POST /{version}/{job}:run) and polled until done. Google has no Get method for jobs: the status is read with
/// GoogleAdsService search (POST /{version}/customers/{id}/googleAds:search, a GAQL query on offline_user_data_job), as its
/// resource documentation says. Nothing happens to the list until the job runs: a run that stops before leaves the list as it was.
/// </summary>
internal sealed class CustomerMatchJob(HttpClient client, DestinationSettings d, bool withAttributes, bool withConsent)
{
    public const string Vendor = "Google Ads";

    private readonly string _root = (d.BaseUrl.Length > 0 ? d.BaseUrl.TrimEnd('/') : GoogleCustomerMatchSettings.DefaultApiRoot) + "/" + GoogleCustomerMatchSettings.Version(d);
    private readonly string _customer = GoogleCustomerMatchSettings.Digits(d.CustomerId);

    /// <summary>customers/{id}/offlineUserDataJobs/{job} once created.</summary>
    public string? ResourceName { get; private set; }

    public string UserList => $"customers/{_customer}/userLists/{d.UserListId}";

    /// <summary>CUSTOMER_MATCH_WITH_ATTRIBUTES when members carry a value (userAttribute is accepted only by that job type).</summary>
    public string JobType => withAttributes ? "CUSTOMER_MATCH_WITH_ATTRIBUTES" : "CUSTOMER_MATCH_USER_LIST";

    /// <summary>The job-level consent: GRANTED for a Google consent field mapped to a Cdp purpose (only members who granted it are sent), else UNSPECIFIED.</summary>
    public static string ConsentStatus(string purpose) => purpose.Length > 0 ? "GRANTED" : "UNSPECIFIED";

    public string CreateBody() => JsonBodies.Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("job");
        w.WriteString("type", JobType);
        w.WriteStartObject("customerMatchUserListMetadata");
        w.WriteString("userList", UserList);
        if (withConsent)
        {
            w.WriteStartObject("consent");
            w.WriteString("adUserData", ConsentStatus(d.AdUserDataConsent));
            w.WriteString("adPersonalization", ConsentStatus(d.AdPersonalizationConsent));
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    });

    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (ResourceName is not null) return;
        JsonElement answer;
        try
        {
            answer = await JsonBodies.ReadAsync(await SendAsync($"/customers/{_customer}/offlineUserDataJobs:create", CreateBody(), cancellationToken), cancellationToken);
        }
        catch (BatchRefusedException ex)
        {
            // Not a member's fault: the list, the account or the job type (attributes not enabled) is refused. No batch can go.
            throw new DestinationUnavailableException($"{ex.Message} (no job could be created for {UserList}: check CustomerId, UserListId and, with ValueTrait, that customer attributes are enabled; the run stops)");
        }
        ResourceName = JsonBodies.String(answer, "resourceName") is { Length: > 0 } name ? name
            : throw new DestinationUnavailableException($"{Vendor} created no offline user data job (no resourceName in its answer)");
    }

    /// <summary>
    /// Sends one addOperations request (the operations array written by <paramref name="writeOperations"/>); returns the
    /// operations Google refused, by their index in the request, with its error code and message.
    /// </summary>
    public async Task<IReadOnlyDictionary<int, string>> AddAsync(Action<Utf8JsonWriter> writeOperations, CancellationToken cancellationToken)
    {
        await EnsureCreatedAsync(cancellationToken);
        var body = JsonBodies.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("operations");
            writeOperations(w);
            w.WriteEndArray();
            w.WriteBoolean("enablePartialFailure", true);
            w.WriteEndObject();
        });
        var answer = await JsonBodies.ReadAsync(await SendAsync($"/{ResourceName}:addOperations", body, cancellationToken), cancellationToken);
        return answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("partialFailureError", out var failure) ? Failures(failure) : new Dictionary<int, string>();
    }

    /// <summary>
    /// google.rpc.Status {code, message, details:[GoogleAdsFailure {errors:[{errorCode:{...}, message, location:{fieldPathElements:
    /// [{fieldName:"operations", index}]}}]}]}: the refused operations by index. An error naming no operation refuses index -1 (all).
    /// </summary>
    public static IReadOnlyDictionary<int, string> Failures(JsonElement status)
    {
        var failures = new Dictionary<int, string>();
        if (status.ValueKind != JsonValueKind.Object) return failures;
        var any = false;
        foreach (var detail in JsonBodies.Array(status, "details"))
            foreach (var error in JsonBodies.Array(detail, "errors"))
            {
                any = true;
                var index = -1;
                if (error.TryGetProperty("location", out var location))
                    foreach (var element in JsonBodies.Array(location, "fieldPathElements"))
                        if (JsonBodies.String(element, "fieldName") == "operations" && element.TryGetProperty("index", out var i) && i.TryGetInt32(out var n)) { index = n; break; }
                var code = error.TryGetProperty("errorCode", out var c) && c.ValueKind == JsonValueKind.Object ? string.Join(",", c.EnumerateObject().Select(p => $"{p.Name} {p.Value}")) : "error";
                var text = $"{Vendor} refused the operation ({code}): {JsonBodies.String(error, "message")}";
                failures[index] = failures.TryGetValue(index, out var earlier) ? earlier + "; " + text : text;
            }
        if (!any && JsonBodies.String(status, "message") is { Length: > 0 } message) failures[-1] = $"{Vendor} refused the request: {message}";
        return failures;
    }

    /// <summary>Polls of a long job slow down to this: each search costs API quota, and Customer Match jobs can run for hours.</summary>
    public static readonly TimeSpan MaxPollInterval = TimeSpan.FromMinutes(1);

    /// <summary>Runs the job and polls it from PollInterval on, each wait twice the last up to a minute, until SUCCESS or FAILED, at most PollTimeout.</summary>
    public async Task<CustomerMatchJobOutcome> RunAsync(CancellationToken cancellationToken)
    {
        if (ResourceName is null) throw new InvalidOperationException("the job was not created");
        (await SendAsync($"/{ResourceName}:run", "{}", cancellationToken)).Dispose();
        var deadline = DateTime.UtcNow + d.PollTimeout;
        var query = JsonBodies.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("query", "SELECT offline_user_data_job.resource_name, offline_user_data_job.id, offline_user_data_job.status, " +
                                   $"offline_user_data_job.failure_reason FROM offline_user_data_job WHERE offline_user_data_job.resource_name = '{ResourceName}'");
            w.WriteEndObject();
        });
        var status = "PENDING";
        var wait = d.PollInterval;
        while (true)
        {
            var answer = await JsonBodies.ReadAsync(await SendAsync($"/customers/{_customer}/googleAds:search", query, cancellationToken), cancellationToken);
            var job = JsonBodies.Array(answer, "results").Select(r => r.TryGetProperty("offlineUserDataJob", out var j) ? j : default).FirstOrDefault(j => j.ValueKind == JsonValueKind.Object);
            status = JsonBodies.String(job, "status") ?? status;
            if (status is "SUCCESS" or "FAILED") return new CustomerMatchJobOutcome(status, JsonBodies.String(job, "failureReason"), ResourceName);
            if (DateTime.UtcNow > deadline) return new CustomerMatchJobOutcome(status, null, ResourceName);
            await Task.Delay(wait, cancellationToken);
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, Math.Max(d.PollInterval.Ticks, MaxPollInterval.Ticks)));
        }
    }

    /// <summary>POST under the API root; the auth handler adds the headers. A 409 still failing after its retries stops the run.</summary>
    private async Task<HttpResponseMessage> SendAsync(string path, string json, CancellationToken cancellationToken)
    {
        try
        {
            return await DestinationHttp.SendAsync(client, Vendor, () => new HttpRequestMessage(HttpMethod.Post, _root + path) { Content = JsonBodies.Content(json) }, cancellationToken);
        }
        catch (BatchRefusedException ex) when (ex.Status == 409)
        {
            throw new DestinationUnavailableException(ex.Message + " (another change to the list was still running after its retries: the run stops, the next one sends again)");
        }
    }

    public static string Describe(CustomerMatchJobOutcome o) => o.FailureReason is { Length: > 0 } reason
        ? string.Create(CultureInfo.InvariantCulture, $"{Vendor} job {o.Job} ended {o.Status}: {reason}")
        : $"{Vendor} job {o.Job} ended {o.Status}";
}

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Cdp.Tests.Activation;

/// <summary>
/// Google Ads API Customer Match (REST, v25) and Google's OAuth token endpoint, as documented:
/// <list type="bullet">
/// <item>POST /token (form grant_type=refresh_token, client_id, client_secret, refresh_token) answers
/// {access_token, expires_in, token_type, scope}, or 400 {error:"invalid_grant"} / 401 {error:"invalid_client"}.</item>
/// <item>Every /v25 call needs developer-token, Authorization: Bearer (a token this endpoint issued and not revoked: else 401
/// UNAUTHENTICATED) and, when the fake expects one, login-customer-id.</item>
/// <item>offlineUserDataJobs:create answers {resourceName}; :addOperations (job PENDING) takes at most 100,000 identifiers per
/// request and 20 per UserData, removeAll only as the job's first operation, hashes as 64 lowercase hex; with
/// enablePartialFailure a bad operation is named in partialFailureError (google.rpc.Status with a GoogleAdsFailure detail
/// whose error location is operations[index]); :run answers a long-running operation and moves the job to RUNNING; the job's
/// status is read with googleAds:search (a GAQL query on offline_user_data_job): RUNNING once, then SUCCESS, the operations
/// applied to the user list in order.</item>
/// </list>
/// Every request is checked against Google's vendored protos (<see cref="GoogleAdsProtoContract"/>).
/// </summary>
public sealed partial class GoogleAdsFake : VendorFake
{
    public const string CustomerId = "1234567890", UserListId = "5550001", DeveloperToken = "devtoken-AbC123xyz", ClientId = "cid-123.apps.example",
        ClientSecret = "client-secret-0123456789", RefreshToken = "1//refresh-token-0123456789", ManagerId = "9876543210";

    public const int MaxIdentifiersPerRequest = 100_000, MaxIdentifiersPerUser = 20;

    public sealed class Job
    {
        public required long Id { get; init; }

        public required JsonObject Definition { get; init; }

        public string Status { get; set; } = "PENDING";

        public List<JsonObject> Operations { get; } = [];

        public int Polls { get; set; }
    }

    /// <summary>The user list: members by their first identifier (hashedEmail, else hashedPhoneNumber), with the UserData last sent.</summary>
    public Dictionary<string, JsonObject> List { get; } = new(StringComparer.Ordinal);

    public Dictionary<long, Job> Jobs { get; } = [];

    /// <summary>Hashes Google refuses (partialFailureError for their operation).</summary>
    public HashSet<string> Refused { get; } = new(StringComparer.Ordinal);

    /// <summary>The next job run ends FAILED with this failureReason (null: SUCCESS).</summary>
    public string? FailNextJob { get; set; }

    public List<string> IssuedTokens { get; } = [];

    public HashSet<string> RevokedTokens { get; } = new(StringComparer.Ordinal);

    public int TokenRequests => Requests.Count(r => r.Path == "/token");

    private long _nextJob = 100;

    protected override FakeResponse Handle(FakeRequest r)
    {
        foreach (var v in GoogleAdsProtoContract.V25.Check(r)) ContractViolations.Enqueue(v);
        if (r.Path == "/token") return Token(r);
        if (r.Header("developer-token") != DeveloperToken) return Error(401, "UNAUTHENTICATED", "authenticationError", "DEVELOPER_TOKEN_INVALID", "The developer token is not valid.");
        var bearer = r.Header("Authorization") is { } a && a.StartsWith("Bearer ", StringComparison.Ordinal) ? a[7..] : null;
        if (bearer is null || !IssuedTokens.Contains(bearer) || RevokedTokens.Contains(bearer))
            return Error(401, "UNAUTHENTICATED", "authenticationError", "OAUTH_TOKEN_INVALID", "Request had invalid authentication credentials.");
        if (r.Header("login-customer-id") != ManagerId)
            return Error(403, "PERMISSION_DENIED", "authorizationError", "USER_PERMISSION_DENIED", "User doesn't have permission to access customer. Note: If you're accessing a client customer, the manager's customer id must be set in the 'login-customer-id' header.");
        var body = r.Json as JsonObject ?? [];
        if (r.Path == $"/v25/customers/{CustomerId}/offlineUserDataJobs:create")
        {
            var job = body["job"]!.AsObject();
            if (job["type"]?.GetValue<string>() is not ("CUSTOMER_MATCH_USER_LIST" or "CUSTOMER_MATCH_WITH_ATTRIBUTES"))
                return Error(400, "INVALID_ARGUMENT", "offlineUserDataJobError", "INVALID_JOB_TYPE", "invalid job type");
            if (job["customerMatchUserListMetadata"]?["userList"]?.GetValue<string>() != $"customers/{CustomerId}/userLists/{UserListId}")
                return Error(400, "INVALID_ARGUMENT", "offlineUserDataJobError", "INVALID_USER_LIST_ID", "The user list does not exist.");
            var id = _nextJob++;
            Jobs[id] = new Job { Id = id, Definition = (JsonObject)job.DeepClone() };
            return FakeResponse.Json(200, new { resourceName = $"customers/{CustomerId}/offlineUserDataJobs/{id}" });
        }
        if (JobPath().Match(r.Path) is { Success: true } m && Jobs.TryGetValue(long.Parse(m.Groups[1].Value), out var j))
        {
            if (m.Groups[2].Value == "addOperations") return AddOperations(j, body);
            if (j.Status != "PENDING") return Error(400, "INVALID_ARGUMENT", "offlineUserDataJobError", "INVALID_JOB_STATUS", "The job is not pending.");
            j.Status = "RUNNING";
            return FakeResponse.Json(200, new { name = $"customers/{CustomerId}/operations/{j.Id}" });
        }
        if (r.Path == $"/v25/customers/{CustomerId}/googleAds:search")
        {
            var query = body["query"]?.GetValue<string>() ?? "";
            if (!query.Contains("FROM offline_user_data_job", StringComparison.Ordinal) || SearchedJob().Match(query) is not { Success: true } q || !Jobs.TryGetValue(long.Parse(q.Groups[1].Value), out var job))
                return Error(400, "INVALID_ARGUMENT", "queryError", "UNRECOGNIZED_FIELD", "bad query");
            if (job.Status == "RUNNING" && ++job.Polls >= 2) Finish(job);
            var row = new JsonObject { ["resourceName"] = $"customers/{CustomerId}/offlineUserDataJobs/{job.Id}", ["id"] = job.Id.ToString(), ["status"] = job.Status };
            if (job.Status == "FAILED") row["failureReason"] = job.Definition["failureReason"]?.GetValue<string>();
            return new FakeResponse(200, new JsonObject
            {
                ["results"] = new JsonArray(new JsonObject { ["offlineUserDataJob"] = row }),
                ["fieldMask"] = "offlineUserDataJob.resourceName,offlineUserDataJob.id,offlineUserDataJob.status,offlineUserDataJob.failureReason",
            }.ToJsonString());
        }
        return Error(404, "NOT_FOUND", "requestError", "RESOURCE_NAME_MALFORMED", $"{r.Method} {r.Path}");
    }

    private FakeResponse Token(FakeRequest r)
    {
        var form = r.Body.Split('&').Select(kv => kv.Split('=', 2)).ToDictionary(kv => Uri.UnescapeDataString(kv[0]), kv => Uri.UnescapeDataString(kv.Length > 1 ? kv[1].Replace('+', ' ') : ""));
        if (form.GetValueOrDefault("grant_type") != "refresh_token") return FakeResponse.Json(400, new { error = "unsupported_grant_type" });
        if (form.GetValueOrDefault("client_id") != ClientId || form.GetValueOrDefault("client_secret") != ClientSecret)
            return FakeResponse.Json(401, new { error = "invalid_client", error_description = "Unauthorized" });
        if (form.GetValueOrDefault("refresh_token") != RefreshToken) return FakeResponse.Json(400, new { error = "invalid_grant", error_description = "Token has been expired or revoked." });
        var token = $"ya29.fake-{IssuedTokens.Count + 1}-{Guid.NewGuid():N}";
        IssuedTokens.Add(token);
        return FakeResponse.Json(200, new { access_token = token, expires_in = 3599, scope = "https://www.googleapis.com/auth/adwords", token_type = "Bearer" });
    }

    private FakeResponse AddOperations(Job job, JsonObject body)
    {
        if (job.Status != "PENDING") return Error(400, "INVALID_ARGUMENT", "offlineUserDataJobError", "INVALID_JOB_STATUS", "Operations can only be added to a pending job.");
        var operations = body["operations"]?.AsArray() ?? [];
        var identifiers = operations.Sum(o => (o!["create"] ?? o["remove"])?["userIdentifiers"]?.AsArray().Count ?? 0);
        if (identifiers > MaxIdentifiersPerRequest)
            return Error(400, "INVALID_ARGUMENT", "offlineUserDataJobError", "TOO_MANY_USER_IDENTIFIERS", "Maximum number of user identifiers allowed per request is 100,000 and per operation is 20.");
        var partial = body["enablePartialFailure"]?.GetValue<bool>() == true;
        var errors = new JsonArray();
        for (var i = 0; i < operations.Count; i++)
        {
            var op = operations[i]!.AsObject();
            string? problem = null;
            if (op["removeAll"] is not null && (job.Operations.Count > 0 || i > 0)) problem = "REMOVE_ALL_MUST_BE_FIRST_OPERATION"; // hypothetical name: Google documents the rule, the fake names it
            var data = (op["create"] ?? op["remove"])?.AsObject();
            if (data is not null)
            {
                var ids = data["userIdentifiers"]?.AsArray() ?? [];
                if (ids.Count == 0) problem = "MISSING_USER_IDENTIFIER";
                if (ids.Count > MaxIdentifiersPerUser) problem = "TOO_MANY_USER_IDENTIFIERS";
                foreach (var hash in Hashes(data))
                    if (!Sha256Hex().IsMatch(hash)) problem = "INVALID_SHA256_FORMAT";
                    else if (Refused.Contains(hash)) problem = "INVALID_SHA256_FORMAT";
                if (data["userAttribute"] is not null && job.Definition["type"]!.GetValue<string>() != "CUSTOMER_MATCH_WITH_ATTRIBUTES") problem = "CUSTOMER_NOT_ALLOWED_TO_ADD_ATTRIBUTES"; // hypothetical name
            }
            if (problem is null) continue;
            if (!partial) return Error(400, "INVALID_ARGUMENT", "offlineUserDataJobError", problem, "invalid operation");
            errors.Add(new JsonObject
            {
                ["errorCode"] = new JsonObject { ["offlineUserDataJobError"] = problem },
                ["message"] = "The SHA256 encoded value is malformed.",
                ["location"] = new JsonObject { ["fieldPathElements"] = new JsonArray(new JsonObject { ["fieldName"] = "operations", ["index"] = i }, new JsonObject { ["fieldName"] = "create" }) },
            });
            operations[i] = null; // refused: not added to the job
        }
        foreach (var op in operations) if (op is not null) job.Operations.Add(op.DeepClone().AsObject());
        if (errors.Count == 0) return FakeResponse.Json(200, new { });
        return new FakeResponse(200, new JsonObject
        {
            ["partialFailureError"] = new JsonObject
            {
                ["code"] = 3,
                ["message"] = "The SHA256 encoded value is malformed., at operations[...]",
                ["details"] = new JsonArray(new JsonObject { ["@type"] = "type.googleapis.com/google.ads.googleads.v25.errors.GoogleAdsFailure", ["errors"] = errors, ["requestId"] = "req-" + job.Id }),
            },
        }.ToJsonString());
    }

    private void Finish(Job job)
    {
        if (FailNextJob is { } reason)
        {
            FailNextJob = null;
            job.Status = "FAILED";
            job.Definition["failureReason"] = reason;
            return;
        }
        foreach (var op in job.Operations)
        {
            if (op["removeAll"] is not null) List.Clear();
            else if (op["create"] is JsonObject create) List[MemberKey(create)] = (JsonObject)create.DeepClone();
            else if (op["remove"] is JsonObject remove) List.Remove(MemberKey(remove));
        }
        job.Status = "SUCCESS";
    }

    public static string MemberKey(JsonObject userData)
    {
        var ids = userData["userIdentifiers"]!.AsArray();
        return ids.Select(i => i!["hashedEmail"]?.GetValue<string>()).FirstOrDefault(h => h is not null)
               ?? ids.Select(i => i!["hashedPhoneNumber"]?.GetValue<string>()).First(h => h is not null)!;
    }

    private static IEnumerable<string> Hashes(JsonObject userData)
    {
        foreach (var id in userData["userIdentifiers"]!.AsArray())
        {
            if (id!["hashedEmail"]?.GetValue<string>() is { } e) yield return e;
            if (id["hashedPhoneNumber"]?.GetValue<string>() is { } p) yield return p;
            if (id["addressInfo"] is JsonObject a)
            {
                yield return a["hashedFirstName"]?.GetValue<string>() ?? "";
                yield return a["hashedLastName"]?.GetValue<string>() ?? "";
            }
        }
    }

    /// <summary>Google's error body: google.rpc.Status with a GoogleAdsFailure detail naming the error code.</summary>
    public static FakeResponse Error(int status, string rpcStatus, string codeKind, string code, string message, IReadOnlyDictionary<string, string>? headers = null) =>
        new(status, new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = status, ["message"] = message, ["status"] = rpcStatus,
                ["details"] = new JsonArray(new JsonObject
                {
                    ["@type"] = "type.googleapis.com/google.ads.googleads.v25.errors.GoogleAdsFailure",
                    ["errors"] = new JsonArray(new JsonObject { ["errorCode"] = new JsonObject { [codeKind] = code }, ["message"] = message }),
                    ["requestId"] = "req-" + Guid.NewGuid().ToString("N")[..8],
                }),
            },
        }.ToJsonString(), headers);

    [GeneratedRegex(@"^/v25/customers/1234567890/offlineUserDataJobs/(\d+):(addOperations|run)$")]
    private static partial Regex JobPath();

    [GeneratedRegex(@"offline_user_data_job\.resource_name = 'customers/1234567890/offlineUserDataJobs/(\d+)'")]
    private static partial Regex SearchedJob();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();
}

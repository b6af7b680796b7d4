using System.Buffers;
using System.Text;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cdp.Modules.Collection.Ingest;

/// <summary>
/// The Segment Tracking API: POST /v1/{identify,track,page,screen,group,alias,batch,import}, analytics.js's short forms
/// /v1/{i,t,p,s,g,a,b} and its telemetry /v1/m, and RudderStack's sendBeacon path /beacon/v1/batch.
/// Answers 200 {"success":true} only after the request's events are committed to the event log.
/// </summary>
[Service]
internal sealed class TrackingEndpoints(
    SourceRegistry sources, EventNormaliser normaliser, EventLogWriter writer, RejectedRequests rejectedRequests, TimeProvider clock,
    SdkMetricsRequests sdkMetrics, BrowserCors cors, ILogger<TrackingEndpoints> log, FreeSpace freeSpace,
    TrackingPlans.TrackingPlanCatalogue plans, TrackingPlans.ViolationLog violationLog)
{
    private static readonly byte[] Success = "{\"success\":true}"u8.ToArray();
    // duplicate keys are refused: downstream readers would disagree on which value counts
    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };
    private static readonly string[] SingleTypes = ["identify", "track", "page", "screen", "group", "alias"];

    /// <summary>analytics.js posts each call to <c>${apiHost}/${type.charAt(0)}</c> (plugins/segmentio/index.js) and batches to <c>/b</c>.</summary>
    private static readonly string[] BatchPaths = ["/v1/batch", "/v1/import", "/v1/b", BeaconBatchPath];

    /// <summary>RudderStack's BeaconQueue: <c>${dataPlaneUrl}/beacon/v1/batch?writeKey=…</c>, a text/plain Blob, no Authorization.</summary>
    public const string BeaconBatchPath = "/beacon/v1/batch";

    /// <summary>Every POST path of the Tracking API (each also answers the browsers' OPTIONS preflight).</summary>
    public static IEnumerable<string> Paths =>
        SingleTypes.SelectMany(t => new[] { "/v1/" + t, "/v1/" + t[0] }).Concat(BatchPaths).Append("/v1/m");

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        foreach (var type in SingleTypes)
        {
            foreach (var path in new[] { "/v1/" + type, "/v1/" + type[0] })
            {
                endpoints.MapPost(path, (HttpContext ctx, TrackingEndpoints api) => api.HandleAsync(ctx, type))
                    .WithTags("Tracking API").WithSummary($"Segment {type} call");
            }
        }
        foreach (var path in BatchPaths)
        {
            endpoints.MapPost(path, (HttpContext ctx, TrackingEndpoints api) => api.HandleAsync(ctx, null))
                .WithTags("Tracking API").WithSummary("Segment batch: up to 2,500 calls, 500 KB");
        }
        endpoints.MapPost("/v1/m", (HttpContext ctx, TrackingEndpoints api) => api.SdkMetrics(ctx))
            .WithTags("Tracking API").WithSummary("analytics.js's own telemetry: accepted and counted, not stored");
        foreach (var path in Paths)
            endpoints.MapMethods(path, [HttpMethods.Options], (HttpContext ctx, BrowserCors cors) => cors.PreflightAsync(ctx)).ExcludeFromDescription();
    }

    /// <summary>analytics.js's metrics ({"series":[…]}, text/plain): answered 200 so the SDK logs no error; the body is not read.</summary>
    private Task SdkMetrics(HttpContext ctx)
    {
        sdkMetrics.Add();
        cors.AllowIfAnySource(ctx);
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = Success.Length;
        return ctx.Response.Body.WriteAsync(Success).AsTask();
    }

    public async Task HandleAsync(HttpContext ctx, string? routeType)
    {
        try
        {
            await HandleRequestAsync(ctx, routeType);
        }
        finally
        {
            if (ctx.Response.StatusCode >= 400) rejectedRequests.Add();
        }
    }

    private async Task HandleRequestAsync(HttpContext ctx, string? routeType)
    {
        var receivedAt = clock.GetUtcNow();
        var isBatch = routeType is null;
        // browsers: CORS headers on every answer (so the SDK reads 4xx and Retry-After), narrowed to the source's list below
        var origin = BrowserCors.OriginOf(ctx.Request);
        if (origin is not null && cors.AnySourceAllows(origin)) BrowserCors.Allow(ctx.Response, origin);
        var authHeader = ctx.Request.Headers.Authorization.ToString();
        Source? source = null;
        if (authHeader.Length > 0)
        {
            source = sources.ByWriteKey(SourceRegistry.WriteKeyFromBasicAuth(authHeader));
            if (source is null) { await Problem(ctx, 401, "Unknown write key", "the write key in the Authorization header is not configured under Cdp:Sources"); return; }
        }
        else if (ctx.Request.QueryString.HasValue && ctx.Request.Query["writeKey"] is { Count: > 0 } queryKey)
        {
            // sendBeacon cannot set headers: RudderStack puts the key in the query string
            source = sources.ByWriteKey(queryKey[0]);
            if (source is null) { await Problem(ctx, 401, "Unknown write key", "the writeKey in the query string is not configured under Cdp:Sources"); return; }
        }
        if (source is not null && origin is not null && await OriginRefusedAsync(ctx, source, origin)) return;

        var limit = isBatch ? Limits.MaxBatchBytes : Limits.MaxEventBytes;
        var limitText = isBatch ? "500 KB per batch request" : "32 KB per event";
        if (ctx.Request.ContentLength > limit) { await Problem(ctx, 413, "Payload too large", $"the request body is {ctx.Request.ContentLength} bytes; the limit is {limitText}"); return; }

        var (buffer, length) = await ReadBodyAsync(ctx.Request, limit);
        try
        {
            if (length > limit) { await Problem(ctx, 413, "Payload too large", $"the request body exceeds the limit of {limitText}"); return; }
            if (!Utf8.IsValid(buffer.AsSpan(0, length)))
            {
                await Problem(ctx, 400, "Malformed JSON", $"the body is not valid UTF-8 (first bad byte at offset {FirstInvalidUtf8(buffer.AsSpan(0, length))})");
                return;
            }
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(buffer.AsMemory(0, length), ParseOptions);
            }
            catch (JsonException ex)
            {
                await Problem(ctx, 400, "Malformed JSON", $"the body is not valid JSON at line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1}: {FirstSentence(ex.Message)}");
                return;
            }
            catch (InvalidOperationException ex) // .NET 10's duplicate-key check throws this for a lone surrogate escape in a name
            {
                await Problem(ctx, 400, "Malformed JSON", "the body holds a property name that is not valid Unicode: " + ex.Message);
                return;
            }
            Prepared prepared;
            using (doc)
            {
                try
                {
                    var root = doc.RootElement;
                    if (root.ValueKind != JsonValueKind.Object) { await Problem(ctx, 400, "Invalid payload", "the body must be a JSON object"); return; }
                    if (source is null)
                    {
                        var key = root.TryGetProperty("writeKey", out var wk) && wk.ValueKind == JsonValueKind.String ? wk.GetString() : null;
                        source = sources.ByWriteKey(key);
                        if (source is null)
                        {
                            ctx.Response.Headers.WWWAuthenticate = "Basic realm=\"cdp\"";
                            await Problem(ctx, 401, key is null ? "Missing write key" : "Unknown write key",
                                "send the source's write key as the HTTP Basic user name (empty password), as ?writeKey= in the query string or as \"writeKey\" in the body");
                            return;
                        }
                        if (origin is not null && await OriginRefusedAsync(ctx, source, origin)) return;
                    }
                    prepared = Prepare(root, routeType, source, receivedAt);
                }
                catch (InvalidOperationException ex) // a string escape that is not valid Unicode, e.g. a lone "\ud800" in a name
                {
                    await Problem(ctx, 400, "Malformed JSON", "the body holds a string that is not valid Unicode: " + ex.Message);
                    return;
                }
            }
            if (prepared.Problem is { } problem) { await problem.ExecuteAsync(ctx); return; }
            if (source.RateLimit is { } limiter)
            {
                using var lease = limiter.AttemptAcquire();
                if (!lease.IsAcquired)
                {
                    ctx.Response.Headers.RetryAfter = "1";
                    await Problem(ctx, 429, "Too many requests", $"source '{source.Name}' is limited to its MaxRequestsPerSecond; nothing was stored, retry after the Retry-After delay");
                    return;
                }
            }
            var strict = source.Strict || ctx.Request.Headers["X-Strict-Mode"] == "1";
            await SubmitAsync(ctx, prepared, source, strict);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A browser on a page the source does not list: 403, nothing stored, no CORS headers (the page cannot read it).
    /// Refused rather than stored because sendBeacon and text/plain posts reach Cdp without a preflight.
    /// </summary>
    private static async Task<bool> OriginRefusedAsync(HttpContext ctx, Source source, string origin)
    {
        if (source.Origins.Allows(origin)) return false;
        BrowserCors.Revoke(ctx.Response);
        await Problem(ctx, 403, "Origin not allowed", $"source '{source.Name}' does not list {origin} in Cdp:Sources:{source.Name}:AllowedOrigins; nothing was stored");
        return true;
    }

    /// <summary>Validates and normalises every call of the request (no I/O; the JsonDocument must stay alive).</summary>
    private Prepared Prepare(JsonElement root, string? routeType, Source source, DateTimeOffset receivedAt)
    {
        BatchEnvelope envelope = default;
        var items = new List<JsonElement>(1);
        if (routeType is null)
        {
            if (!root.TryGetProperty("batch", out var batch) || batch.ValueKind != JsonValueKind.Array)
                return new Prepared(ProblemResult(400, "Invalid payload", "a batch request needs a \"batch\" array of calls"));
            var count = batch.GetArrayLength();
            if (count > Limits.MaxEventsPerBatch)
                return new Prepared(ProblemResult(400, "Too many events", $"the batch holds {count} events; the limit is {Limits.MaxEventsPerBatch:N0} events per batch"));
            envelope = new BatchEnvelope(
                root.TryGetProperty("context", out var c) && c.ValueKind == JsonValueKind.Object ? c : null,
                root.TryGetProperty("integrations", out var i) && i.ValueKind == JsonValueKind.Object ? i : null,
                root.TryGetProperty("sentAt", out var s) && EventTime.TryParse(s, out var sentAt) ? sentAt : null,
                s.ValueKind == JsonValueKind.Undefined ? null : s);
            foreach (var item in batch.EnumerateArray()) items.Add(item);
        }
        else
        {
            items.Add(root);
        }

        var accepted = new List<AcceptedEvent>(items.Count);
        List<RejectedEvent>? rejected = null;
        List<EventError>? allErrors = null;
        List<TrackingPlans.RecordedViolation>? violations = null;
        var plan = plans.ForSource(source.Name);
        for (var index = 0; index < items.Count; index++)
        {
            var item = items[index];
            IReadOnlyList<EventError> errors;
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors = [new EventError(index, "batch", "each call in a batch must be a JSON object")];
            }
            else
            {
                try
                {
                    if (normaliser.TryNormalise(item, index, routeType, envelope, receivedAt, source.Name, out var ok, out errors))
                    {
                        var normalised = ok!;
                        if (plan is null || Enforce(plan, item, envelope, normalised, routeType) is not { } outcome)
                        {
                            accepted.Add(normalised);
                            continue;
                        }
                        var (type, name) = CallOf(item, routeType);
                        (violations ??= []).AddRange(outcome.Violations.Select(v => TrackingPlans.RecordedViolation.Of(type, name, normalised.MessageId, v)));
                        if (!outcome.Blocked)
                        {
                            accepted.Add(outcome.Rewritten is { } kept ? new AcceptedEvent(normalised.Source, normalised.MessageId, kept) : normalised);
                            continue;
                        }
                        errors = outcome.Violations.Select(v => new EventError(index, v.Property.Length == 0 ? "event" : v.Property, v.Message + " (blocked by the source's tracking plan)")).ToList();
                    }
                }
                catch (InvalidOperationException ex) // a string escape that is not valid Unicode, e.g. a lone "\ud800"
                {
                    errors = [new EventError(index, "event", "the event holds a string that is not valid Unicode: " + ex.Message)];
                }
            }
            (allErrors ??= []).AddRange(errors);
            (rejected ??= []).Add(new RejectedEvent(source.Name, index, errors, Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8Value(item))));
        }

        return new Prepared(null, items.Count, accepted, rejected, allErrors) { Violations = violations };
    }

    /// <summary>
    /// The source's plan applied to one call; a failure of the check itself (a bug, a library's surprise) is logged and the
    /// call is stored unchecked: a plan never costs an event or the request.
    /// </summary>
    private TrackingPlans.PlanOutcome? Enforce(TrackingPlans.SourcePlan plan, JsonElement item, BatchEnvelope envelope, AcceptedEvent ok, string? routeType)
    {
        try
        {
            return TrackingPlans.PlanEnforcement.Apply(plan, item, envelope.Context ?? default, ok.Json, routeType);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            log.LogWarning(ex, "Tracking plan '{Plan}' could not check event {MessageId} from {Source}; it is stored unchecked", plan.Plan.Name, ok.MessageId, plan.Source);
            return null;
        }
    }

    /// <summary>The call's type and its event name (track; empty for the other types), for the violations' record.</summary>
    private static (string Type, string Event) CallOf(JsonElement item, string? routeType)
    {
        var type = routeType ?? (item.TryGetProperty("type"u8, out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "");
        var name = type == "track" && item.TryGetProperty("event"u8, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : "";
        return (type, name);
    }

    internal sealed record Prepared(IResult? Problem, int Count = 0, List<AcceptedEvent>? Accepted = null, List<RejectedEvent>? Rejected = null, List<EventError>? Errors = null)
    {
        /// <summary>The tracking plan's violations of the request's calls, recorded once the request is committed.</summary>
        public List<TrackingPlans.RecordedViolation>? Violations { get; init; }
    }

    /// <summary>The common tail of every way in (/v1 and /v1/webhooks): strict mode, free space, the group commit, 429/503, 200 after commit.</summary>
    internal async Task SubmitAsync(HttpContext ctx, Prepared prepared, Source source, bool strict)
    {
        var (accepted, rejected, allErrors) = (prepared.Accepted!, prepared.Rejected, prepared.Errors);
        if (strict && allErrors is not null)
        {
            await Results.Problem(
                title: "Invalid events",
                detail: $"{rejected!.Count} of {prepared.Count} events failed validation; nothing was stored (strict mode)",
                statusCode: 400,
                extensions: new Dictionary<string, object?> { ["errors"] = allErrors.Select(e => new { index = e.Index, field = e.Field, message = e.Message }) })
                .ExecuteAsync(ctx);
            return;
        }

        if (freeSpace.Low)
        {
            // the disk is nearly full (Cdp:Storage:MinFreeBytes): refused before anything is written, the sender retries
            ctx.Response.Headers.RetryAfter = "5";
            await Problem(ctx, 503, "Storage almost full", "the database's disk has less free space than Cdp:Storage:MinFreeBytes; nothing was stored, retry later");
            return;
        }
        SubmitOutcome outcome;
        try
        {
            outcome = await writer.SubmitAsync(accepted, (IReadOnlyList<RejectedEvent>?)rejected ?? []);
        }
        catch (Exception ex)
        {
            log.LogWarning(ex, "Events from {Source} were not stored", source.Name);
            ctx.Response.Headers.RetryAfter = "1";
            await Problem(ctx, 503, "Not stored", "the event log could not commit this request; nothing was stored, retry it");
            return;
        }
        if (outcome == SubmitOutcome.QueueFull)
        {
            ctx.Response.Headers.RetryAfter = "1";
            await Problem(ctx, 429, "Too many requests", "the ingest queue is full; nothing was stored, retry after the Retry-After delay");
            return;
        }
        if (prepared.Violations is { } violations)
        {
            try { violationLog.Record(source.Name, violations); }
            catch (Exception ex) { log.LogWarning(ex, "Tracking plan violations of a request from {Source} were stored but not counted", source.Name); }
        }
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = Success.Length;
        await ctx.Response.Body.WriteAsync(Success);
    }

    /// <summary>Reads at most limit + 1 bytes into a pooled buffer (the caller returns it).</summary>
    internal static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(HttpRequest request, int limit)
    {
        var size = request.ContentLength is { } cl && cl <= limit ? (int)cl + 1 : 16 * 1024;
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length > limit) break;
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limit + 1));
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }
            var read = await request.Body.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, limit + 1) - length));
            if (read == 0) break;
            length += read;
            if (length > limit) break;
        }
        return (buffer, length);
    }

    internal static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        var offset = 0;
        while (offset < bytes.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed);
            if (status != System.Buffers.OperationStatus.Done) return offset;
            offset += consumed;
        }
        return offset;
    }

    private static string FirstSentence(string message)
    {
        foreach (var marker in new[] { " LineNumber:", " Path:" })
        {
            var i = message.IndexOf(marker, StringComparison.Ordinal);
            if (i > 0) message = message[..i];
        }
        return message.TrimEnd();
    }

    private static IResult ProblemResult(int status, string title, string detail) =>
        Results.Problem(title: title, detail: detail, statusCode: status);

    private static Task Problem(HttpContext ctx, int status, string title, string detail) =>
        ProblemResult(status, title, detail).ExecuteAsync(ctx);
}

using Cdp.Tests.Support;
using System.Security.Cryptography;
using System.Text;
using Cdp.Modules.Activation.Contracts;
using Microsoft.AspNetCore.Http;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace Cdp.Tests.Activation;

/// <summary>A webhook receiver that verifies Standard Webhooks signatures with its own code (not the product's).</summary>
public sealed class WebhookReceiver(string secret) : VendorFake
{
    public List<FakeRequest> Accepted { get; } = [];

    public List<FakeRequest> Refused { get; } = [];

    /// <summary>Standard Webhooks: base64 HMAC-SHA256 over "{id}.{timestamp}.{body}" with the key after "whsec_"; header "v1,&lt;sig&gt;" (space-separated list).</summary>
    public static bool Verify(string secret, string id, string timestamp, string body, string signatureHeader)
    {
        var key = Convert.FromBase64String(secret.Substring("whsec_".Length));
        using var hmac = new HMACSHA256(key);
        var expected = Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(id + "." + timestamp + "." + body)));
        foreach (var part in signatureHeader.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var comma = part.IndexOf(',');
            if (comma < 0 || part[..comma] != "v1") continue;
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(part[(comma + 1)..]), Encoding.ASCII.GetBytes(expected))) return true;
        }
        return false;
    }

    /// <summary>The independent check: the StandardWebhooks library (NuGet) verifies the signature and its 5-minute timestamp tolerance.</summary>
    public static bool LibraryVerifies(string secret, FakeRequest r)
    {
        var headers = new HeaderDictionary
        {
            ["webhook-id"] = r.Header("webhook-id"), ["webhook-timestamp"] = r.Header("webhook-timestamp"), ["webhook-signature"] = r.Header("webhook-signature"),
        };
        try
        {
            new StandardWebhook(secret).Verify(r.Body, headers);
            return true;
        }
        catch (WebhookVerificationException)
        {
            return false;
        }
    }

    protected override FakeResponse Handle(FakeRequest r)
    {
        var ok = r.Header("webhook-id") is { } id && r.Header("webhook-timestamp") is { } ts && r.Header("webhook-signature") is { } sig
                 && Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - long.Parse(ts)) < 300 && Verify(secret, id, ts, r.Body, sig)
                 && LibraryVerifies(secret, r);
        if (!ok)
        {
            Refused.Add(r);
            return FakeResponse.Json(400, new { error = "bad signature" });
        }
        Accepted.Add(r);
        return new FakeResponse(204);
    }
}

public sealed class WebhookSyncTests : IDisposable
{
    private static readonly string Secret = "whsec_" + Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)(i * 7)).ToArray());

    private readonly WebhookReceiver _receiver = new(Secret);
    private ActivationHarness? _harness;

    public static TheoryData<string> Providers => CdpHost.Providers;

    private ActivationHarness Start(Dictionary<string, string?>? extra = null, string? provider = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Cdp:Destinations:hook:Type"] = "Webhook",
            ["Cdp:Destinations:hook:BaseUrl"] = _receiver.Url + "/cdp/members",
            ["Cdp:Destinations:hook:Secret"] = Secret,
            ["Cdp:Destinations:hook:BatchSize"] = "3",
            ["Cdp:Destinations:hook:RetryBaseDelay"] = "00:00:00.010",
            // long enough that a loaded machine does not turn a slow answer into a retry (tests that count requests); the
            // timeout test sets its own
            ["Cdp:Destinations:hook:Timeout"] = "00:00:05",
            ["Cdp:Syncs:crm-push:Segment"] = "vip",
            ["Cdp:Syncs:crm-push:Destination"] = "hook",
            ["Cdp:Syncs:crm-push:Cron"] = "*/30 * * * *",
            ["Cdp:Syncs:crm-push:FieldMappings:firstName"] = "traits.first_name",
        };
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return _harness = new ActivationHarness(settings, provider: provider);
    }

    public void Dispose()
    {
        _harness?.Dispose();
        _receiver.Dispose();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Batches_are_signed_in_the_Standard_Webhooks_format_and_a_tampered_body_fails_verification(string provider)
    {
        var h = Start(provider: provider);
        var ids = await h.SeedAsync(ActivationHarness.People(7));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("crm-push");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        _receiver.Refused.Should().BeEmpty();
        _receiver.Accepted.Should().HaveCount(3, "7 members in batches of 3");
        var first = _receiver.Accepted[0];
        first.Header("webhook-id").Should().StartWith("msg_");
        first.Header("webhook-signature").Should().StartWith("v1,");
        first.Json!["type"]!.GetValue<string>().Should().Be("members.upserted");
        first.Json!["members"]![0]!["fields"]!["firstName"]!.GetValue<string>().Should().StartWith("First");
        _receiver.Accepted.SelectMany(r => r.Json!["members"]!.AsArray()).Select(m => m!["identifier"]!.GetValue<string>())
            .Should().BeEquivalentTo(Enumerable.Range(1, 7).Select(i => $"person{i}@example.com"));

        var tampered = first.Body.Replace("person", "intruder");
        WebhookReceiver.Verify(Secret, first.Header("webhook-id")!, first.Header("webhook-timestamp")!, first.Body, first.Header("webhook-signature")!).Should().BeTrue();
        WebhookReceiver.Verify(Secret, first.Header("webhook-id")!, first.Header("webhook-timestamp")!, tampered, first.Header("webhook-signature")!).Should().BeFalse();
        var otherSecret = "whsec_" + Convert.ToBase64String(new byte[32]);
        WebhookReceiver.Verify(otherSecret, first.Header("webhook-id")!, first.Header("webhook-timestamp")!, first.Body, first.Header("webhook-signature")!).Should().BeFalse();
    }

    [Fact]
    public async Task A_5xx_and_a_timeout_are_retried_with_the_same_webhook_id()
    {
        var h = Start(new() { ["Cdp:Destinations:hook:BatchSize"] = "10", ["Cdp:Destinations:hook:Timeout"] = "00:00:00.500" });
        var ids = await h.SeedAsync(ActivationHarness.People(2));
        h.Segments.Set("vip", ids);
        _receiver.Fail(_ => true, FakeResponse.Json(503, new { error = "down" }));
        _receiver.StallNext = TimeSpan.FromSeconds(2); // the second attempt stalls past the sender's Timeout (0.5 s); the third one lands

        var run = await h.RunAsync("crm-push");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        _receiver.Requests.Count.Should().BeGreaterThanOrEqualTo(3, "the 503 and the stalled attempt are retried");
        _receiver.Requests.Select(r => r.Header("webhook-id")).Distinct().Should().ContainSingle("webhook-id is stable across retries");
        _receiver.Accepted.Should().NotBeEmpty("a stalled attempt may land after the sender gave up: the same webhook-id lets the receiver drop the copy");
    }

    [Fact]
    public async Task With_MaxAttempts_1_a_batch_is_sent_once_and_a_5xx_fails_the_run_without_a_retry()
    {
        // MaxAttempts = 1 is valid (1 to 20) and means "no retry"; Polly's retry strategy refuses 0 retries, so it once
        // made every run of such a destination fail with a validation error before sending anything.
        var h = Start(new() { ["Cdp:Destinations:hook:BatchSize"] = "10", ["Cdp:Destinations:hook:MaxAttempts"] = "1" });
        var ids = await h.SeedAsync(ActivationHarness.People(2));
        h.Segments.Set("vip", ids);
        _receiver.Fail(_ => true, FakeResponse.Json(503, new { error = "down" }), times: 1);

        var failed = await h.RunAsync("crm-push");

        failed.Status.Should().NotBe(SyncRunStatus.Succeeded);
        _receiver.Requests.Should().HaveCount(1, "one attempt, no retry");
        string.Join("; ", failed.Errors).Should().NotContain("MaxRetryAttempts");

        var next = await h.RunAsync("crm-push");

        next.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", next.Errors));
        _receiver.Requests.Should().HaveCount(2, "the next run sends the batch again, once");
    }

    [Fact]
    public async Task Each_attempt_after_a_Retry_After_gets_a_fresh_timestamp_and_signature_that_the_StandardWebhooks_library_verifies()
    {
        var h = Start(new() { ["Cdp:Destinations:hook:BatchSize"] = "10" });
        var ids = await h.SeedAsync(ActivationHarness.People(2));
        h.Segments.Set("vip", ids);
        _receiver.Fail(_ => true, FakeResponse.Json(503, new { error = "busy" }, new Dictionary<string, string> { ["Retry-After"] = "1" }), times: 2);

        var run = await h.RunAsync("crm-push");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        var attempts = _receiver.Requests.ToList();
        attempts.Should().HaveCount(3, "two 503s asking to wait 1 s, then the delivery");
        attempts.Select(r => r.Header("webhook-id")).Distinct().Should().ContainSingle("one message, one id, whatever the attempts");
        var stamps = attempts.Select(r => long.Parse(r.Header("webhook-timestamp")!)).ToList();
        stamps.Should().BeInAscendingOrder();
        (stamps[2] - stamps[0]).Should().BeGreaterThanOrEqualTo(2, "each attempt is stamped when it is sent, after the wait the receiver asked for");
        attempts.Select(r => r.Header("webhook-signature")).Distinct().Should().HaveCount(3);
        attempts.Should().OnlyContain(r => WebhookReceiver.LibraryVerifies(Secret, r), "every attempt verifies on its own");
        _receiver.Accepted.Should().ContainSingle();
    }

    [Fact]
    public async Task Two_messages_with_the_same_body_get_distinct_webhook_ids()
    {
        var h = Start();
        var ids = await h.SeedAsync(ActivationHarness.People(2));
        h.Segments.Set("vip", ids);
        await h.RunAsync("crm-push");
        h.Segments.Set("vip", ids.Skip(1));
        await h.RunAsync("crm-push"); // person1 removed
        h.Segments.Set("vip", ids);
        await h.RunAsync("crm-push"); // re-added
        h.Segments.Set("vip", ids.Skip(1));
        await h.RunAsync("crm-push"); // removed again: the same body as the first removal

        var removals = _receiver.Accepted.Where(r => r.Json!["type"]!.GetValue<string>() == "members.removed").ToList();
        removals.Should().HaveCount(2);
        removals[0].Body.Should().Be(removals[1].Body);
        removals[0].Header("webhook-id").Should().NotBe(removals[1].Header("webhook-id"), "a receiver de-duplicating on webhook-id must not drop the second, real removal");
        _receiver.Accepted.Select(r => r.Header("webhook-id")).Should().OnlyHaveUniqueItems();
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_4xx_is_permanent_the_batch_is_rejected_and_not_retried_and_leavers_get_a_removed_batch(string provider)
    {
        var h = Start(provider: provider);
        var ids = await h.SeedAsync(ActivationHarness.People(5));
        h.Segments.Set("vip", ids);
        _receiver.Fail(_ => true, FakeResponse.Json(422, new { error = "unprocessable" }));

        var run = await h.RunAsync("crm-push");

        run.Status.Should().Be(SyncRunStatus.Partial);
        run.Counts.Rejected.Should().Be(3);
        run.Counts.Added.Should().Be(2);
        _receiver.Requests.Should().HaveCount(2, "the 422 is not retried; the next batch goes on");

        h.Segments.Set("vip", ids.Skip(1));
        var next = await h.RunAsync("crm-push");
        next.Counts.Retried.Should().Be(2, "person1 left (never acknowledged, so no removal is sent), the other two rejected rows are retried");
        next.Counts.Removed.Should().Be(0);
        h.Segments.Set("vip", ids.Skip(2));
        var leave = await h.RunAsync("crm-push");
        leave.Counts.Removed.Should().Be(1);
        _receiver.Accepted.Last().Json!["type"]!.GetValue<string>().Should().Be("members.removed");
    }

    [Fact]
    public async Task A_second_run_asked_for_while_one_is_going_is_refused()
    {
        var h = Start(new() { ["Cdp:Destinations:hook:BatchSize"] = "10" });
        var ids = await h.SeedAsync(ActivationHarness.People(2));
        h.Segments.Set("vip", ids);
        _receiver.StallNext = TimeSpan.FromMilliseconds(400);

        var running = h.RunAsync("crm-push"); // takes the sync's gate before its first await
        var overlapping = () => h.RunAsync("crm-push");

        await overlapping.Should().ThrowAsync<SyncBusyException>();
        (await running).Status.Should().Be(SyncRunStatus.Succeeded);
    }
}

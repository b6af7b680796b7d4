using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Activation.Engine;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;

namespace Cdp.Tests.Activation;

/// <summary>
/// Privacy at the vendors, through the real host: a deletion erases the person at every destination they were synced to
/// (Mailchimp delete-permanent, Brevo contact delete, SendGrid contact delete, the webhook's members.erased) in a background job
/// that retries until the vendor acknowledged, and an opt-out unsubscribes the member at each email platform.
/// </summary>
public sealed class VendorPrivacyTests : IDisposable
{
    private const string MailchimpKey = "0123456789abcdef0123456789abcdef-us21";
    private const string MailchimpList = "a1b2c3d4e5";
    private const string BrevoKey = "xkeysib-0123456789abcdef0123456789abcdef";
    private const string SendGridKey = "SG.testkey.0123456789abcdef";
    private static readonly string Secret = "whsec_" + Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)(i * 5)).ToArray());

    private readonly MailchimpFake _mailchimp = new(MailchimpKey, MailchimpList) { Contract = VendorContract.Mailchimp };
    private readonly BrevoFake _brevo = new(BrevoKey, 7);
    private readonly SendGridFake _sendGrid = new(SendGridKey, "list-uuid-1");
    private readonly WebhookReceiver _hook = new(Secret);
    private ActivationHarness? _harness;

    private static readonly string[] EmailSyncs = ["to-mailchimp", "to-brevo", "to-sendgrid"];

    private ActivationHarness Start(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Cdp:Destinations:mc:Type"] = "Mailchimp",
            ["Cdp:Destinations:mc:BaseUrl"] = _mailchimp.Url,
            ["Cdp:Destinations:mc:ApiKey"] = MailchimpKey,
            ["Cdp:Destinations:mc:ListId"] = MailchimpList,
            ["Cdp:Destinations:mc:RetryBaseDelay"] = "00:00:00.010",
            ["Cdp:Destinations:brevo:Type"] = "Brevo",
            ["Cdp:Destinations:brevo:BaseUrl"] = _brevo.Url,
            ["Cdp:Destinations:brevo:ApiKey"] = BrevoKey,
            ["Cdp:Destinations:brevo:ListId"] = "7",
            ["Cdp:Destinations:brevo:PollInterval"] = "00:00:00.020",
            ["Cdp:Destinations:brevo:RetryBaseDelay"] = "00:00:00.010",
            ["Cdp:Destinations:sg:Type"] = "SendGrid",
            ["Cdp:Destinations:sg:BaseUrl"] = _sendGrid.Url,
            ["Cdp:Destinations:sg:ApiKey"] = SendGridKey,
            ["Cdp:Destinations:sg:ListId"] = "list-uuid-1",
            ["Cdp:Destinations:sg:PollInterval"] = "00:00:00.020",
            ["Cdp:Destinations:sg:RetryBaseDelay"] = "00:00:00.010",
            ["Cdp:Destinations:hook:Type"] = "Webhook",
            ["Cdp:Destinations:hook:BaseUrl"] = _hook.Url + "/cdp/members",
            ["Cdp:Destinations:hook:Secret"] = Secret,
            ["Cdp:Destinations:hook:RetryBaseDelay"] = "00:00:00.010",
        };
        foreach (var (sync, destination) in new[] { ("to-mailchimp", "mc"), ("to-brevo", "brevo"), ("to-sendgrid", "sg"), ("to-hook", "hook") })
        {
            settings[$"Cdp:Syncs:{sync}:Segment"] = "vip";
            settings[$"Cdp:Syncs:{sync}:Destination"] = destination;
            settings[$"Cdp:Syncs:{sync}:Enabled"] = "false";
            settings[$"Cdp:Syncs:{sync}:MaxRemovalShare"] = "1";
        }
        settings["Cdp:Syncs:to-mailchimp:FieldMappings:FNAME"] = "traits.first_name";
        settings["Cdp:Syncs:to-brevo:FieldMappings:FIRSTNAME"] = "traits.first_name";
        settings["Cdp:Syncs:to-sendgrid:FieldMappings:first_name"] = "traits.first_name";
        settings["Cdp:Syncs:to-hook:FieldMappings:first_name"] = "traits.first_name";
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return _harness = new ActivationHarness(settings);
    }

    public void Dispose()
    {
        _harness?.Dispose();
        _mailchimp.Dispose();
        _brevo.Dispose();
        _sendGrid.Dispose();
        _hook.Dispose();
        _mailchimp.ContractViolations.Should().BeEmpty("Mailchimp's Marketing API schemas (TestData/vendor-openapi) must accept every request");
    }

    private static readonly Person Jane = new("u-jane", "jane.doe@example.com", FirstName: "Janette");
    private static readonly Person Bob = new("u-bob", "bob@example.com", FirstName: "Roberto");

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.Should().BeTrue(text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The receipt as GET /api/privacy/deletions/{id} shows it, once <paramref name="until"/> holds (the job runs in the background).</summary>
    private static async Task<JsonElement> Receipt(CdpHost host, string receiptId, Func<JsonElement, bool> until)
    {
        var admin = host.AdminClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var receipt = await Json(await admin.GetAsync($"/api/privacy/deletions/{receiptId}"));
            if (until(receipt.GetProperty("followUp").GetProperty("syncs"))) return receipt;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the erasure job did not get there: " + receipt);
            await Task.Delay(100);
        }
    }

    private static JsonElement Destination(JsonElement receipt, string name) =>
        receipt.GetProperty("followUp").GetProperty("syncs").GetProperty("destinations").EnumerateArray().Single(d => d.GetProperty("destination").GetString() == name);

    private static string Md5(string email) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(email)));

    private async Task<string> Delete(ActivationHarness h, string userId)
    {
        var receipt = await Json(await h.Host.AdminClient().DeleteAsync($"/api/privacy/profiles/{h.ProfileOf(userId)}"));
        return receipt.GetProperty("receiptId").GetString()!;
    }

    [Fact]
    public async Task A_deletion_erases_the_person_at_every_vendor_with_its_own_call_retries_a_5xx_and_the_receipt_shows_each_outcome()
    {
        var h = Start();
        var ids = await h.SeedAsync([Jane, Bob]);
        h.Segments.Set("vip", ids);
        foreach (var sync in EmailSyncs.Append("to-hook"))
        {
            (await h.RunAsync(sync, dryRun: true)).FirstPayload.Should().Contain("Janette");
            var run = await h.RunAsync(sync);
            run.Counts.Added.Should().Be(2, $"{sync}: {string.Join("; ", run.Errors)}");
        }
        var janeId = h.ProfileOf("u-jane");
        _mailchimp.Fail(r => r.Path.EndsWith("/actions/delete-permanent", StringComparison.Ordinal),
            FakeResponse.Json(503, new { type = "https://mailchimp.com/developer/marketing/docs/errors/", title = "Service Unavailable", status = 503, detail = "try again" }));

        var receiptId = await Delete(h, "u-jane");
        var receipt = await Receipt(h.Host, receiptId, s => s.GetProperty("complete").GetBoolean());

        var mc = _mailchimp.Requests.Where(r => r.Path == $"/3.0/lists/{MailchimpList}/members/{Md5(Jane.Email)}/actions/delete-permanent").ToList();
        mc.Should().HaveCount(2, "the 503, then the retry the vendor acknowledged");
        mc.Should().OnlyContain(r => r.Method == "POST" && r.Header("Authorization")!.StartsWith("Basic ", StringComparison.Ordinal));
        _mailchimp.PermanentlyDeleted.Should().Equal(Jane.Email);
        _mailchimp.Members.Keys.Should().Equal(Bob.Email);
        _brevo.Requests.Should().ContainSingle(r => r.Method == "DELETE" && r.Path.StartsWith("/v3/contacts/", StringComparison.Ordinal))
            .Which.Header("api-key").Should().Be(BrevoKey);
        _brevo.Deleted.Should().Equal(Jane.Email);
        _brevo.Contacts.Keys.Should().Equal(Bob.Email);
        var sgDelete = _sendGrid.Requests.Should().ContainSingle(r => r.Method == "DELETE" && r.Path == "/v3/marketing/contacts").Subject;
        sgDelete.Query.Should().Contain("ids=c-", "the contact id was looked up by email first");
        _sendGrid.Deleted.Should().Equal(Jane.Email);
        _sendGrid.Contacts.Keys.Should().Equal(Bob.Email);
        var erased = _hook.Accepted.Select(r => r.Json!).Should().ContainSingle(j => (string?)j["type"] == "members.erased", "signed, verified by the receiver's own code").Subject;
        erased["identifiers"]!.AsArray().Select(n => (string?)n).Should().Equal(Jane.Email);
        erased["profileIds"]!.AsArray().Select(n => (string?)n).Should().Contain(janeId);

        Destination(receipt, "mc").GetProperty("status").GetString().Should().Be("deleted");
        Destination(receipt, "brevo").GetProperty("status").GetString().Should().Be("deleted");
        Destination(receipt, "sg").GetProperty("status").GetString().Should().Be("deleted");
        Destination(receipt, "hook").GetProperty("status").GetString().Should().Be("acknowledged");
        foreach (var name in new[] { "mc", "brevo", "sg", "hook" })
            Destination(receipt, name).GetProperty("completedAt").ValueKind.Should().Be(JsonValueKind.String, name);
        receipt.ToString().Should().NotContain(Jane.Email);

        var history = JsonSerializer.Serialize(EmailSyncs.Append("to-hook").SelectMany(s => h.Syncs.Runs(s, 10)));
        history.Should().NotContain(Jane.Email).And.NotContain("Janette").And.NotContain(janeId);
        history.Should().Contain(Bob.Email).And.Contain("Roberto", "only the erased person leaves the stored payloads and samples");
        var pending = h.Host.Service<CdpDatabase>().Collection("activation_erasures").FindById(receiptId).ToString();
        pending.Should().NotContain(Jane.Email, "the address is dropped once every destination acknowledged").And.NotContain(janeId);

        var next = await h.RunAsync("to-mailchimp");
        next.Counts.Removed.Should().Be(0, "the vendor erased the person; no removal is owed any more");
    }

    [Fact]
    public async Task A_vendor_still_failing_after_its_retries_keeps_the_erasure_pending_and_a_later_pass_completes_it_while_a_404_counts_as_already_gone()
    {
        var h = Start(new() { ["Cdp:Destinations:brevo:MaxAttempts"] = "2" });
        var ids = await h.SeedAsync([Jane, Bob]);
        h.Segments.Set("vip", ids);
        foreach (var sync in new[] { "to-brevo", "to-sendgrid" })
        {
            var run = await h.RunAsync(sync);
            run.Counts.Added.Should().Be(2, $"{sync}: {run.StoppedBecause} {string.Join("; ", run.Errors)}");
        }
        _sendGrid.Contacts.Remove(Jane.Email); // deleted in SendGrid's own UI meanwhile
        _brevo.Fail(r => r.Method == "DELETE", FakeResponse.Json(500, new { code = "internal_error", message = $"could not delete {Jane.Email}" }), times: 2);

        var receiptId = await Delete(h, "u-jane");
        var first = await Receipt(h.Host, receiptId, s => Destination(Wrap(s), "brevo").GetProperty("attempts").GetInt32() >= 1
                                                           && Destination(Wrap(s), "sg").TryGetProperty("completedAt", out var c) && c.ValueKind == JsonValueKind.String);

        var brevo = Destination(first, "brevo");
        brevo.GetProperty("status").GetString().Should().Be("pending");
        brevo.GetProperty("completedAt").ValueKind.Should().Be(JsonValueKind.Null);
        brevo.GetProperty("lastError").GetString().Should().Contain("500").And.NotContain(Jane.Email, "an error echoing the address is blanked");
        brevo.GetProperty("nextAttemptAt").GetDateTime().Should().BeAfter(DateTime.UtcNow.AddSeconds(-5));
        Destination(first, "sg").GetProperty("status").GetString().Should().Be("not found at the vendor (already gone)");
        first.GetProperty("followUp").GetProperty("syncs").GetProperty("complete").GetBoolean().Should().BeFalse();
        _brevo.Contacts.Should().ContainKey(Jane.Email);

        await h.Host.Service<VendorErasureJob>().RunAsync(receiptId, CancellationToken.None); // what the job server runs again

        var done = await Receipt(h.Host, receiptId, s => s.GetProperty("complete").GetBoolean());
        Destination(done, "brevo").GetProperty("status").GetString().Should().Be("deleted");
        Destination(done, "brevo").GetProperty("attempts").GetInt32().Should().Be(2);
        _brevo.Requests.Count(r => r.Method == "DELETE").Should().Be(3, "two tries in the first pass (both 500), one in the second");
        _brevo.Deleted.Should().Equal(Jane.Email);
    }

    private static JsonElement Wrap(JsonElement syncs) =>
        JsonDocument.Parse("{\"followUp\":{\"syncs\":" + syncs.GetRawText() + "}}").RootElement;

    [Fact]
    public async Task An_opt_out_unsubscribes_the_member_at_Mailchimp_Brevo_and_SendGrid_and_is_counted_apart_from_list_removals()
    {
        var h = Start();
        Person ann = new("u-ann", "ann@example.com"), ben = new("u-ben", "ben@example.com"), cid = new("u-cid", "cid@example.com"), dee = new("u-dee", "dee@example.com");
        var ids = await h.SeedAsync([ann, ben, cid, dee]);
        h.Segments.Set("vip", ids);
        foreach (var sync in EmailSyncs) (await h.RunAsync(sync)).Counts.Added.Should().Be(4);

        await h.SeedAsync([ben with { Consent = false }]); // ben revokes marketing consent
        (await h.Host.AdminClient().PostAsJsonAsync("/api/privacy/suppressions", new { identifierType = "email", value = "CID@example.com" }))
            .IsSuccessStatusCode.Should().BeTrue("cid's address is suppressed");
        h.Segments.Set("vip", ids.Where(id => id != h.ProfileOf("u-ann"))); // ann only leaves the segment

        var dry = await h.RunAsync("to-mailchimp", dryRun: true);
        dry.Counts.Unsubscribed.Should().Be(2);
        dry.Counts.Removed.Should().Be(1);
        foreach (var sync in EmailSyncs)
        {
            var run = await h.RunAsync(sync);
            run.Status.Should().Be(SyncRunStatus.Succeeded, $"{sync}: {string.Join("; ", run.Errors)}");
            run.Counts.Unsubscribed.Should().Be(2, sync);
            run.Counts.Removed.Should().Be(1, sync);
            h.Syncs.Runs(sync, 1)[0].Counts.Unsubscribed.Should().Be(2, "run history keeps the count");
        }

        var patches = _mailchimp.Requests.Where(r => r.Method == "PATCH").ToList();
        patches.Select(r => r.Path).Should().BeEquivalentTo($"/3.0/lists/{MailchimpList}/members/{Md5(ben.Email)}", $"/3.0/lists/{MailchimpList}/members/{Md5(cid.Email)}");
        patches.Should().OnlyContain(r => (string?)r.Json!["status"] == "unsubscribed");
        _mailchimp.Members[ben.Email].Status.Should().Be("unsubscribed");
        _mailchimp.Members[cid.Email].Status.Should().Be("unsubscribed");
        _mailchimp.Members[ann.Email].Status.Should().Be("subscribed", "leaving a segment is no opt-out: only the tag goes");
        _mailchimp.Tagged("to-mailchimp").Should().BeEquivalentTo(dee.Email);
        _brevo.Blacklisted.Should().BeEquivalentTo(ben.Email, cid.Email);
        _brevo.Requests.Where(r => r.Method == "PUT").Should().OnlyContain(r => r.Json!["emailBlacklisted"]!.GetValue<bool>());
        _sendGrid.GlobalUnsubscribes.Should().BeEquivalentTo(ben.Email, cid.Email);

        foreach (var sync in EmailSyncs)
        {
            var again = await h.RunAsync(sync);
            again.Counts.Unsubscribed.Should().Be(0, $"{sync}: unsubscribed once, then forgotten");
            again.Counts.Added.Should().Be(0, $"{sync}: a suppressed address is not sent again");
        }
    }

    [Fact]
    public async Task With_UnsubscribeOnOptOut_off_an_opt_out_only_leaves_the_list()
    {
        var h = Start(new() { ["Cdp:Syncs:to-mailchimp:UnsubscribeOnOptOut"] = "false", ["Cdp:Syncs:to-brevo:UnsubscribeOnOptOut"] = "false" });
        Person ann = new("u-ann", "ann@example.com"), ben = new("u-ben", "ben@example.com");
        var ids = await h.SeedAsync([ann, ben]);
        h.Segments.Set("vip", ids);
        foreach (var sync in new[] { "to-mailchimp", "to-brevo" }) (await h.RunAsync(sync)).Counts.Added.Should().Be(2);
        await h.SeedAsync([ben with { Consent = false }]);

        foreach (var sync in new[] { "to-mailchimp", "to-brevo" })
        {
            var run = await h.RunAsync(sync);
            run.Counts.Removed.Should().Be(1, sync);
            run.Counts.Unsubscribed.Should().Be(0, sync);
        }

        _mailchimp.Requests.Should().NotContain(r => r.Method == "PATCH");
        _mailchimp.Members[ben.Email].Status.Should().Be("subscribed");
        _mailchimp.Tagged("to-mailchimp").Should().BeEquivalentTo(ann.Email);
        _brevo.Blacklisted.Should().BeEmpty();
        _brevo.InList.Should().BeEquivalentTo(ann.Email);
    }
}

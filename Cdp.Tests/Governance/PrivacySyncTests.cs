using System.Text.Json;
using Cdp.Modules.Activation.Contracts;
using Cdp.Tests.Activation;
using Cdp.Tests.Support;

namespace Cdp.Tests.Governance;

/// <summary>Deletion and consent reaching a destination: a Mailchimp fake fed by a real segment through the real host.</summary>
public sealed class PrivacySyncTests : IDisposable
{
    private const string ApiKey = "0123456789abcdef0123456789abcdef-us21";
    private const string List = "a1b2c3d4e5";

    private readonly MailchimpFake _fake = new(ApiKey, List) { Contract = VendorContract.Mailchimp };

    public void Dispose()
    {
        _fake.Dispose();
        _fake.ContractViolations.Should().BeEmpty("Mailchimp's Marketing API schemas (TestData/vendor-openapi) must accept every request");
    }

    private CdpHost Host(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Cdp:Segments:buyers:Where"] = "performed \"Order Completed\" within 30d",
            ["Cdp:Destinations:mc:Type"] = "Mailchimp",
            ["Cdp:Destinations:mc:BaseUrl"] = _fake.Url,
            ["Cdp:Destinations:mc:ApiKey"] = ApiKey,
            ["Cdp:Destinations:mc:ListId"] = List,
            ["Cdp:Destinations:mc:RetryBaseDelay"] = "00:00:00.010",
            ["Cdp:Syncs:newsletter:Segment"] = "buyers",
            ["Cdp:Syncs:newsletter:Destination"] = "mc",
            ["Cdp:Syncs:newsletter:Enabled"] = "false",
            ["Cdp:Syncs:newsletter:FieldMappings:FNAME"] = "traits.first_name",
        };
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return new CdpHost(settings);
    }

    private static string Now(int minutes = 0) => DateTime.UtcNow.AddMinutes(minutes).ToString("O");

    private static string Buyer(string user, string email, int minutes, string extra = "") =>
        $$"""{"type":"identify","userId":"{{user}}","traits":{"email":"{{email}}","first_name":"{{user}}","marketing_consent":true},"timestamp":"{{Now(minutes)}}"{{extra}}}""";

    private static string Order(string user, int minutes, string context = "") =>
        $$"""{"type":"track","userId":"{{user}}","event":"Order Completed","properties":{"total":10},"timestamp":"{{Now(minutes)}}"{{context}}}""";

    private static Task<SyncRunReport> Run(CdpHost host) =>
        host.Service<ISyncOperations>().RunAsync("newsletter", new SyncRunRequest("test"), CancellationToken.None);

    [Fact]
    public async Task A_deleted_person_is_erased_permanently_at_the_destination_and_no_later_run_sends_or_shows_them()
    {
        using var host = Host(new() { ["Cdp:Syncs:newsletter:MaxRemovalShare"] = "0.1" });
        await host.TrackingClient().SendBatch([
            Buyer("u-jane", "jane@example.com", -10), Order("u-jane", -9),
            Buyer("u-bob", "bob@example.com", -10), Order("u-bob", -9),
        ]);
        await host.Processed();
        var dry = await host.Service<ISyncOperations>().RunAsync("newsletter", new SyncRunRequest("test", DryRun: true), CancellationToken.None);
        dry.Samples.Should().Contain(r => r.Identifier == "jane@example.com");
        var first = await Run(host);
        first.Counts.Added.Should().Be(2, string.Join("; ", first.Errors));
        _fake.Tagged("newsletter").Should().BeEquivalentTo("jane@example.com", "bob@example.com");
        var admin = host.AdminClient();
        var jane = await admin.ProfileId("user_id:u-jane");

        var receipt = JsonDocument.Parse(await (await admin.DeleteAsync($"/api/privacy/profiles/{jane}")).Content.ReadAsStringAsync()).RootElement;
        receipt.GetProperty("erased").GetProperty("syncMembers").GetInt64().Should().Be(1);
        receipt.GetProperty("erased").GetProperty("syncRunEntries").GetInt64().Should().Be(1, "the dry run (its sample row and first payload); a real run stores no payload");
        receipt.GetProperty("erased").GetProperty("destinationErasures").GetInt64().Should().Be(1);
        JsonSerializer.Serialize(host.Service<ISyncOperations>().Runs("newsletter", 10)).Should().NotContain("jane@example.com").And.NotContain("u-jane");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (_fake.PermanentlyDeleted.Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(100);

        _fake.PermanentlyDeleted.Should().Equal("jane@example.com");
        _fake.Tagged("newsletter").Should().BeEquivalentTo("bob@example.com");
        var dryAfter = await host.Service<ISyncOperations>().RunAsync("newsletter", new SyncRunRequest("test", DryRun: true), CancellationToken.None);
        dryAfter.Counts.Removed.Should().Be(0, "the vendor's own deletion replaced the removal");
        var run = await Run(host);
        run.Status.Should().Be(SyncRunStatus.Succeeded, run.StoppedBecause + string.Join("; ", run.Errors));
        run.Counts.Unchanged.Should().Be(1);
        host.Service<ISyncOperations>().Find("newsletter")!.Members.Should().Be(1);
    }

    [Fact]
    public async Task A_sync_with_a_consent_purpose_sends_only_consenting_profiles_and_unsubscribes_one_who_revokes()
    {
        using var host = Host(new() { ["Cdp:Syncs:newsletter:ConsentPurpose"] = "Advertising", ["Cdp:Syncs:newsletter:MaxRemovalShare"] = "1" });
        static string Consent(bool granted) => ",\"context\":{\"consent\":{\"categoryPreferences\":{\"Advertising\":" + (granted ? "true" : "false") + "}}}";
        var tracking = host.TrackingClient();
        await tracking.SendBatch([
            Buyer("u-ann", "ann@example.com", -10), Order("u-ann", -9, Consent(true)),
            Buyer("u-ben", "ben@example.com", -10), Order("u-ben", -9, Consent(false)),
            Buyer("u-cid", "cid@example.com", -10), Order("u-cid", -9),
            Buyer("u-dee", "dee@example.com", -10), Order("u-dee", -9, Consent(true)),
        ]);
        await host.Processed();

        var first = await Run(host);

        first.Counts.Members.Should().Be(4);
        first.Counts.SkippedNoConsent.Should().Be(2);
        first.Counts.Added.Should().Be(2);
        _fake.Tagged("newsletter").Should().BeEquivalentTo("ann@example.com", "dee@example.com");

        await tracking.Send("track", $$"""{"userId":"u-ann","event":"Settings Changed","timestamp":"{{Now(-1)}}"{{Consent(false)}}}""");
        await host.Processed();
        var second = await Run(host);

        second.Status.Should().Be(SyncRunStatus.Succeeded, second.StoppedBecause);
        second.Counts.Unsubscribed.Should().Be(1, "a revoked consent is an opt-out: unsubscribed at the vendor");
        second.Counts.Removed.Should().Be(0, "opt-outs are counted apart from list removals");
        _fake.Tagged("newsletter").Should().BeEquivalentTo("dee@example.com");
        _fake.Members["ann@example.com"].Status.Should().Be("unsubscribed");
    }
}

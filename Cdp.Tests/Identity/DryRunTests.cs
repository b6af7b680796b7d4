using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;

namespace Cdp.Tests.Identity;

public sealed class DryRunTests
{
    [Fact]
    public async Task A_dry_run_reports_the_merges_and_splits_of_proposed_rules_and_changes_nothing()
    {
        using var host = new CdpHost();
        var web = host.TrackingClient();
        await web.Send("identify", """{"userId":"mum","anonymousId":"m-1","traits":{"email":"family@example.com"}}""");
        await web.Send("identify", """{"userId":"dad","anonymousId":"d-1","traits":{"email":"family@example.com"}}""");
        await web.Send("identify", """{"anonymousId":"x-1","traits":{"email":"solo@example.com","phone":"+1 201 555 0123"}}""");
        await web.Send("page", """{"anonymousId":"x-2","context":{"traits":{"phone":"(201) 555-0123"}}}""");
        await host.Processed();
        var before = ProjectionSnapshot.Take(host.Service<CdpDatabase>());

        // proposal: two user ids per profile (mum and dad merge through the email); phones no longer identify (x-1 and x-2 split)
        var file = Path.Combine(host.DataFolder, "proposed.json");
        await File.WriteAllTextAsync(file, """
            {"Cdp":{"Identity":{"Types":{
              "user_id":{"Priority":1,"Limit":2},
              "email":{"Priority":2,"Limit":5,"Normaliser":"Email","Traits":["email"]},
              "anonymous_id":{"Priority":5}
            }}}}
            """);
        var report = host.Service<IIdentityDryRun>().Run(file);

        report.Errors.Should().BeEmpty();
        report.Events.Should().Be(4);
        report.ProfilesNow.Should().Be(3);
        report.ProfilesProposed.Should().Be(3);
        report.Merges.Should().Be(1);
        report.Splits.Should().Be(1);
        report.IdentifiersOnlyNow.Should().Be(1, "the phone is no identifier under the proposal");
        report.Examples.Should().Contain(x => x.Kind == "merge" && x.IdentifiersByProfile.Any(p => p.Contains("user_id:dad")));
        ProjectionSnapshot.Take(host.Service<CdpDatabase>()).Should().Be(before, "a dry run changes nothing");
    }

    [Fact]
    public async Task A_dry_run_of_invalid_settings_names_the_bad_key()
    {
        using var host = new CdpHost();
        var file = Path.Combine(host.DataFolder, "bad.json");
        await File.WriteAllTextAsync(file, """{"Identity":{"MaxProfilesPerIdentifier":1,"Types":{"Bad-Name":{"Priority":1}}}}""");
        var report = host.Service<IIdentityDryRun>().Run(file);
        report.Errors.Should().Contain(e => e.Contains("MaxProfilesPerIdentifier"));
        report.Errors.Should().Contain(e => e.Contains("lower-case"));
    }
}

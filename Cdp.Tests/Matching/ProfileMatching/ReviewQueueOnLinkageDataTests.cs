using Cdp.Tests.Support;
using Xunit.Abstractions;

namespace Cdp.Tests.Matching.ProfileMatching;

/// <summary>
/// The shared fake_1000 set (1,000 CRM rows of 254 people, with typos) imported through the CSV import, one profile per
/// row, then one full matching run with the shipped settings: the review queue holds only open decisions.
/// </summary>
public sealed class ReviewQueueOnLinkageDataTests(ITestOutputHelper output)
{
    private const string Mapping = "anonymousId=unique_id,traits.firstName=first_name,traits.lastName=surname,traits.birthday=dob,traits.address.city=city,traits.email=email";

    [Fact]
    public async Task After_a_full_run_over_fake_1000_no_pending_item_holds_profiles_that_are_already_one_and_no_pair_is_queued_twice()
    {
        using var host = new CdpHost();
        await host.ImportFake1000(Mapping);
        var admin = host.AdminClient();

        var run = await admin.Run(full: true);

        var (items, pairs) = await admin.PendingReview();
        output.WriteLine($"run: {run.GetRawText()}");
        output.WriteLine($"pending review items: {items.Count}, distinct profile pairs: {pairs.Distinct().Count()}");

        run.Int("autoMerged").Should().BeGreaterThan(0, "the set is full of duplicates");
        items.Should().NotBeEmpty();
        pairs.Should().OnlyContain(p => p.Item1 != p.Item2, "a pair of profiles that are one is no decision");
        pairs.Should().OnlyHaveUniqueItems("one item per pair of profiles");
    }
}

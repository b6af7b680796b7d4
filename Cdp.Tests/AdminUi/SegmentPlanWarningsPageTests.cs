using Cdp.Tests.Support;

namespace Cdp.Tests.AdminUi;

/// <summary>A segment on an event no tracking plan has: the admin UI shows the warning, on a host of its own (the web source follows a plan).</summary>
public sealed class SegmentPlanWarningsPageTests
{
    [SkippableFact]
    public async Task A_segment_on_an_event_no_tracking_plan_has_shows_the_warning_on_its_page_and_under_the_condition_as_it_is_typed()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        using var drop = new TempFolder();
        using var plans = new TempFolder();
        File.WriteAllText(plans.File("clinic.json"),
            """{"events": {"Appointment Booked": {"properties": {"type": "object", "properties": {"clinic": {"type": "string"}}}}}}""");
        var settings = AdminUiFixture.Settings(drop.Path); // its config segment "buyers" is on Order Completed, which the plan lacks
        settings["Cdp:TrackingPlans:clinic:File"] = plans.File("clinic.json");
        settings["Cdp:Sources:web:TrackingPlan"] = "clinic";
        using var host = new CdpHost(settings);
        await using var browser = await AdminBrowser.LaunchAsync();
        await using var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress);
        await tab.SignInAsync(CdpHost.AdminKey);
        var page = tab.Page;

        await tab.GoAsync("segments/" + AdminUiFixture.Segment);
        await page.Locator("#segment-warnings").GetByText("'Order Completed' is in no tracking plan").WaitForAsync();
        await page.Locator("#where-warnings").GetByText("'Order Completed' is in no tracking plan").WaitForAsync();

        await tab.GoAsync("segments/new");
        var where = page.GetByLabel("Condition");
        await where.FillAsync("performed \"Appointment Booked\" where properties.clinic = \"North\"");
        await page.GetByText("✓ Valid condition").WaitForAsync();
        (await page.Locator("#where-warnings").CountAsync()).Should().Be(0, "the event and its property are planned");

        await where.FillAsync("performed \"appointment booked\"");
        await page.Locator("#where-warnings").GetByText("'appointment booked' is in no tracking plan").WaitForAsync();
        (await page.Locator("#where-warnings").TextContentAsync()).Should().Contain("did you mean 'Appointment Booked'");
        tab.Problems.Should().BeEmpty();
    }
}

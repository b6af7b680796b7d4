using Cdp.Tests.Support;
using Microsoft.Playwright;

namespace Cdp.Tests.AdminUi;

/// <summary>Unmerge from the profile page, on a host of its own (it changes who is who).</summary>
public sealed class UnmergePageTests
{
    [SkippableFact]
    public async Task Unmerge_asks_first_then_splits_the_profile_and_cancel_changes_nothing()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        using var drop = new TempFolder();
        using var host = new CdpHost(AdminUiFixture.Settings(drop.Path));
        await AdminUiFixture.Seed(host);
        var admin = host.AdminClient();
        var jane = await admin.ProfileId("email:" + AdminUiFixture.JaneEmail);
        await using var browser = await AdminBrowser.LaunchAsync();
        await using var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress);
        await tab.SignInAsync(CdpHost.AdminKey);
        await tab.GoAsync("profiles/" + jane);
        var page = tab.Page;
        var unmerge = page.GetByRole(AriaRole.Button, new() { Name = "Unmerge…" });

        await unmerge.ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        (await MergeCount()).Should().Be(1, "cancel changes nothing");

        await unmerge.ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await dialog.GetByText("will be split out of").WaitForAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Unmerge" }).ClickAsync();
        await page.GetByText("Unmerged:").WaitForAsync();
        await page.Locator("#profile-merges").GetByText("No merges").WaitForAsync();
        (await MergeCount()).Should().Be(0);
        tab.Problems.Should().BeEmpty();

        async Task<int> MergeCount() => (await admin.Profile(jane, "merges"))!.Value.GetProperty("merges").GetArrayLength();
    }
}

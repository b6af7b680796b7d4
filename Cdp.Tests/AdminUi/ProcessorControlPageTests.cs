using Cdp.Modules.Profiles.Contracts;
using Cdp.Tests.Support;
using Microsoft.Playwright;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Tests.AdminUi;

/// <summary>Pause and resume of the profile processor from the overview, on a host of its own (it stops processing).</summary>
public sealed class ProcessorControlPageTests
{
    [SkippableFact]
    public async Task An_admin_pauses_processing_after_confirming_and_resumes_it_from_the_overview()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        using var drop = new TempFolder();
        using var host = new CdpHost(AdminUiFixture.Settings(drop.Path));
        await using var browser = await AdminBrowser.LaunchAsync();
        await using var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress);
        await tab.SignInAsync(CdpHost.AdminKey);
        await tab.GoAsync("overview");
        var page = tab.Page;
        var status = () => host.Service<IProfileProcessor>().Status;

        await page.GetByRole(AriaRole.Button, new() { Name = "Pause processing" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        status().Paused.Should().BeFalse("cancel changes nothing");

        await page.GetByRole(AriaRole.Button, new() { Name = "Pause processing" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Pause processing" }).ClickAsync();
        await page.GetByText("processing is paused").WaitForAsync();
        status().Paused.Should().BeTrue();

        await page.GetByRole(AriaRole.Button, new() { Name = "Resume processing" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Pause processing" }).WaitForAsync();
        status().Paused.Should().BeFalse();
        tab.Problems.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task A_reader_sees_the_processing_figures_without_the_pause_button()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        using var drop = new TempFolder();
        using var host = new CdpHost(AdminUiFixture.Settings(drop.Path));
        await using var browser = await AdminBrowser.LaunchAsync();
        await using var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress);
        await tab.SignInAsync(CdpHost.AnalystKey);
        await tab.GoAsync("overview");
        await tab.Page.GetByText("Processing lag").WaitForAsync();
        await tab.Page.GetByText("p95 freshness").WaitForAsync();
        (await tab.Page.GetByRole(AriaRole.Button, new() { Name = "Pause processing" }).CountAsync()).Should().Be(0);
        tab.Problems.Should().BeEmpty();
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;
using Microsoft.Playwright;

namespace Cdp.Tests.AdminUi;

/// <summary>Consent, export and deletion on the profile page against the real privacy API, on a host of its own (it deletes a person).</summary>
public sealed class PrivacyPageTests
{
    [SkippableFact]
    public async Task The_profile_page_shows_consent_exports_a_download_and_deletes_the_person_after_the_profile_id_is_typed()
    {
        Skip.If(AdminUiFixture.MissingReason is not null, AdminUiFixture.MissingReason);
        using var host = new CdpHost();
        var t = host.TrackingClient();
        // marketing_consent is mapped to the purpose "marketing" (Cdp:Profiles:ConsentTraits); context.consent states "Advertising"
        await t.SendBatch([
            """{"type":"identify","userId":"u-jane","traits":{"email":"jane.doe@example.com","name":"Jane Doe","marketing_consent":true},"context":{"consent":{"categoryPreferences":{"Advertising":false}}},"timestamp":"2026-11-20T09:10:00Z"}""",
            """{"type":"track","userId":"u-jane","event":"Order Completed","properties":{"revenue":42.5},"timestamp":"2026-11-22T12:00:00Z"}""",
        ]);
        await host.Processed();
        var admin = host.AdminClient();
        var jane = await admin.ProfileId("email:jane.doe@example.com");
        await using var browser = await AdminBrowser.LaunchAsync();
        await using var tab = await AdminTab.OpenAsync(browser.Value, host.ServerAddress);
        await tab.SignInAsync(CdpHost.AdminKey);
        await tab.GoAsync("profiles/" + jane);
        var page = tab.Page;
        await page.GetByRole(AriaRole.Heading, new() { Name = "Jane Doe" }).WaitForAsync();

        var consent = page.Locator("section", new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = "Consent" }) });
        var marketing = consent.Locator("tr.consent-marketing");
        (await marketing.Locator("td[data-label=Status]").TextContentAsync()).Should().Be("granted");
        (await marketing.Locator("td[data-label=Source]").TextContentAsync()).Should().StartWith("trait marketing_consent from source ",
            "the statement names the trait and the Cdp source whose event made it");
        var advertising = consent.Locator("tr.consent-advertising");
        (await advertising.Locator("td[data-label=Status]").TextContentAsync()).Should().Be("denied");
        (await advertising.Locator("td[data-label=Source]").TextContentAsync()).Should().Contain("context.consent");
        (await consent.GetByText("not available in this version").CountAsync()).Should().Be(0, "this version keeps consent per purpose");
        await tab.ScreenshotAsync("profile-consent");

        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Export data" }).ClickAsync());
        download.SuggestedFilename.Should().Be($"cdp-export-{jane}.json");
        using var saved = new TempFolder();
        var file = Path.Combine(saved.Path, download.SuggestedFilename);
        await download.SaveAsAsync(file);
        var export = JsonDocument.Parse(await File.ReadAllTextAsync(file)).RootElement;
        export.GetProperty("profileId").GetString().Should().Be(jane);
        foreach (var part in new[] { "profile", "identity", "events", "segments", "syncs" }) export.TryGetProperty(part, out _).Should().BeTrue($"the export has a {part} section");
        export.GetProperty("events").GetRawText().Should().Contain("Order Completed");
        export.GetProperty("profile").GetProperty("consent").GetProperty("marketing").GetProperty("granted").GetBoolean().Should().BeTrue();

        await page.GetByRole(AriaRole.Button, new() { Name = "Delete person…" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        var confirm = dialog.GetByRole(AriaRole.Button, new() { Name = "Delete for good" });
        await dialog.GetByLabel($"Type {jane} to confirm").FillAsync("p_999");
        (await confirm.IsDisabledAsync()).Should().BeTrue("the profile id must be typed first");
        await dialog.GetByLabel($"Type {jane} to confirm").FillAsync(jane);
        await tab.ScreenshotAsync("delete-confirm");
        await confirm.ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Person deleted" }).WaitForAsync();
        var receiptId = await page.Locator("#receipt-id").TextContentAsync();
        var receipt = await admin.GetFromJsonAsync<JsonElement>($"/api/privacy/deletions/{receiptId}");
        receipt.GetProperty("profileId").GetString().Should().Be(jane);
        var facts = page.Locator("dl.facts");
        (await facts.TextContentAsync()).Should().Contain("Requested by" + receipt.GetProperty("requestedBy").GetString());
        var erasedEvents = receipt.GetProperty("erased").GetProperty("events").GetInt64();
        erasedEvents.Should().Be(2);
        (await page.Locator("tr", new() { HasText = "events" }).First.Locator("td[data-label=Count]").TextContentAsync()).Should().Be("2");
        await tab.ScreenshotAsync("delete-receipt");
        (await admin.GetAsync($"/api/profiles/{jane}")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.GetAsync("/api/profiles/" + Uri.EscapeDataString("email:jane.doe@example.com"))).StatusCode.Should().Be(HttpStatusCode.NotFound);
        tab.Problems.Should().BeEmpty();
    }
}

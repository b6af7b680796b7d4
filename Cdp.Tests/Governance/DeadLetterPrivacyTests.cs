using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Collection.DeadLetters;
using Cdp.Modules.Shared.Storage;
using Cdp.Tests.Support;

namespace Cdp.Tests.Governance;

/// <summary>Dead letters (refused events with their raw text) are part of a person: exported and erased with them.</summary>
public sealed class DeadLetterPrivacyTests
{
    private const string Email = "jane.doe@example.com";

    private static string Now(int minutes = 0) => DateTime.UtcNow.AddMinutes(minutes).ToString("O");

    /// <summary>Jane is known (user id, email, phone); three of her events were refused, and two of other people.</summary>
    private static async Task SeedAsync(CdpHost host)
    {
        await host.TrackingClient().SendBatch([
            $$"""{"type":"identify","userId":"u-jane","traits":{"email":"{{Email}}","phone":"(650) 253-0000"},"timestamp":"{{Now(-9)}}"}""",
            $$"""{"type":"identify","userId":"u-bob","traits":{"email":"bob@example.com"},"timestamp":"{{Now(-9)}}"}""",
            // refused: no event name (identity would read her user id)
            $$"""{"type":"track","userId":"u-jane","properties":{"total":1},"timestamp":"{{Now(-5)}}"}""",
            // refused: no user id nor anonymous id; her phone in another format (read and normalised like identity does)
            $$"""{"type":"identify","traits":{"phone":"650-253-0000"},"timestamp":"{{Now(-5)}}"}""",
            // refused: not an object at all; her email only as text
            $$"""["contact", "JANE.DOE@example.com"]""",
            // refused, not hers: bob, and a user id that merely starts like hers
            $$"""{"type":"track","userId":"u-bob","timestamp":"{{Now(-5)}}"}""",
            $$"""{"type":"track","userId":"u-janet","timestamp":"{{Now(-5)}}"}""",
        ]);
        await host.Processed();
    }

    private static List<string> DeadLetters(CdpHost host) =>
        host.Service<IDeadLetterStore>().All().Select(d => d.Raw).ToList();

    [Fact]
    public async Task The_subject_access_export_holds_the_persons_dead_letters_and_only_theirs()
    {
        using var host = new CdpHost();
        await SeedAsync(host);
        var admin = host.AdminClient();
        DeadLetters(host).Should().HaveCount(5);

        var export = await admin.GetFromJsonAsync<JsonElement>($"/api/privacy/profiles/{await admin.ProfileId("user_id:u-jane")}/export");

        var dead = export.GetProperty("deadLetters").EnumerateArray().ToList();
        dead.Should().HaveCount(3);
        dead.Select(d => d.GetProperty("raw").GetString()).Should().Contain(r => r!.Contains("\"u-jane\""))
            .And.Contain(r => r!.Contains("650-253-0000")).And.Contain(r => r!.Contains("JANE.DOE@example.com"));
        dead.Should().OnlyContain(d => d.GetProperty("errors").GetArrayLength() > 0 && d.GetProperty("source").GetString() == "web");
        string.Concat(dead.Select(d => d.GetRawText())).Should().NotContainAny("u-bob", "u-janet");
    }

    [Fact]
    public async Task Deleting_the_person_erases_their_dead_letters_counts_them_on_the_receipt_and_leaves_others()
    {
        using var host = new CdpHost();
        await SeedAsync(host);
        var admin = host.AdminClient();
        // bob's user id suppressed by hand: his dead letter is still not jane's
        (await admin.PostAsJsonAsync("/api/privacy/suppressions", new { identifierType = "user_id", value = "u-bob" })).StatusCode.Should().Be(HttpStatusCode.Created);

        var response = await admin.DeleteAsync($"/api/privacy/profiles/{await admin.ProfileId("user_id:u-jane")}");

        var receipt = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        response.StatusCode.Should().Be(HttpStatusCode.OK, receipt.GetRawText());
        receipt.GetProperty("erased").GetProperty("deadLetters").GetInt64().Should().Be(3);
        var left = DeadLetters(host);
        left.Should().HaveCount(2);
        string.Concat(left).Should().Contain("u-bob").And.Contain("u-janet").And.NotContainAny("u-jane\"", "650-253-0000", "JANE.DOE");
    }

    [Fact]
    public async Task A_person_without_dead_letters_gets_a_zero_count_and_an_empty_section()
    {
        using var host = new CdpHost();
        await host.TrackingClient().SendBatch([$$"""{"type":"identify","userId":"u-carol","timestamp":"{{Now()}}"}"""]);
        await host.Processed();
        var admin = host.AdminClient();
        var carol = await admin.ProfileId("user_id:u-carol");

        (await admin.GetFromJsonAsync<JsonElement>($"/api/privacy/profiles/{carol}/export")).GetProperty("deadLetters").GetArrayLength().Should().Be(0);
        var receipt = await (await admin.DeleteAsync($"/api/privacy/profiles/{carol}")).Content.ReadFromJsonAsync<JsonElement>();
        receipt.GetProperty("erased").GetProperty("deadLetters").GetInt64().Should().Be(0);
    }

    [Theory]
    [InlineData("""{"userId":"u-jane"}""", "u-jane", true)]
    [InlineData("""{"userId":"u-janet"}""", "u-jane", false)]
    [InlineData("""{"userId":"u-jane-2"}""", "u-jane", false)]
    [InlineData("""write to JANE.DOE@example.com.""", Email, true)]
    [InlineData("""xjane.doe@example.com""", Email, false)]
    public void An_identifier_value_is_found_in_raw_text_only_as_a_whole_token(string text, string value, bool found) =>
        DeadLetterPersonalData.ContainsWhole(text, value).Should().Be(found);
}

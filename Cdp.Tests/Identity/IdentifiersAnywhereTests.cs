using System.Text.Json;
using Cdp.Modules.Identity;
using Cdp.Modules.Identity.Identifiers;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Identity;

/// <summary>The one notion of "this person's identifiers" (IIdentifierReader.IdentifiersAnywhere / IdentifiersInText).</summary>
public sealed class IdentifiersAnywhereTests
{
    private const string Email = "email:janedoe@gmail.com";
    private const string Phone = "phone:+16502530000";

    private static IdentifierReader Reader(IdentityOptions? options = null) => new(Options.Create(options ?? new IdentityOptions()));

    private static IReadOnlySet<string> Anywhere(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return Reader().IdentifiersAnywhere(doc.RootElement);
    }

    [Theory]
    [InlineData("""{"anonymousId":"a1","traits":{"Email":"Jane.Doe@gmail.com"}}""")]
    [InlineData("""{"anonymousId":"a1","traits":{"email_address":"jane.doe@gmail.com"}}""")]
    [InlineData("""{"anonymousId":"a1","context":{"traits":{"EMAIL":"jane.doe@gmail.com"}}}""")]
    [InlineData("""{"anonymousId":"a1","event":"Viewed","properties":{"email":"jane.doe@gmail.com"}}""")]
    [InlineData("""{"userId":"Jane.Doe@gmail.com","event":"Viewed"}""")]
    [InlineData("""{"anonymousId":"a1","context":{"externalIds":[{"type":"email","id":"jane.doe@gmail.com","collection":"users"}]}}""")]
    [InlineData("""{"anonymousId":"a1","traits":{"email":"J.A.N.E.D.O.E+promo@googlemail.com"}}""")]
    [InlineData("""{"anonymousId":"a1","properties":{"note":"write to <jane.doe@gmail.com>."}}""")]
    [InlineData("""{"anonymousId":"a1","properties":{"people":[{"contact":"jane.doe\u0040gmail.com"}]}}""")]
    public void An_email_in_any_field_case_or_spelling_is_the_same_identifier(string json) =>
        Anywhere(json).Should().Contain(Email);

    [Theory]
    [InlineData("""{"anonymousId":"a1","traits":{"Phone":"(650) 253-0000"}}""")]
    [InlineData("""{"anonymousId":"a1","properties":{"contact":"+1 650.253.0000"}}""")]
    [InlineData("""{"anonymousId":"a1","properties":{"mobile_phone":6502530000}}""")]
    [InlineData("""{"anonymousId":"a1","context":{"externalIds":[{"type":"Phone","id":"650-253-0000"}]}}""")]
    public void A_phone_in_any_field_or_format_is_its_E164_identifier(string json) =>
        Anywhere(json).Should().Contain(Phone);

    [Fact]
    public void Ids_are_read_where_identity_reads_them_and_previous_id_both_ways()
    {
        var found = Anywhere("""{"type":"alias","userId":"u-jane","previousId":"old-id","anonymousId":"anon-1","context":{"device":{"id":"dev-1"}}}""");

        found.Should().Contain(["user_id:u-jane", "anonymous_id:anon-1", "device_id:dev-1", "anonymous_id:old-id", "user_id:old-id"]);
    }

    [Fact]
    public void Ip_addresses_dates_times_versions_and_counts_are_not_read_as_phones()
    {
        var found = Anywhere("""
            {"anonymousId":"a1","timestamp":"2026-11-28T10:00:00.000Z","context":{"ip":"203.0.113.7","library":{"version":"5.2.0"}},
             "properties":{"day":"2026-11-28","birthday":"28.11.1990","us":"11/28/2026","total":6502530000,"count":"12345"}}
            """);

        found.Should().BeEquivalentTo(["anonymous_id:a1"]);
    }

    [Fact]
    public void Only_the_asked_types_are_looked_for()
    {
        using var doc = JsonDocument.Parse("""{"userId":"u-jane","traits":{"email":"jane.doe@gmail.com","phone":"650-253-0000"}}""");

        Reader().IdentifiersAnywhere(doc.RootElement, t => t == "email").Should().BeEquivalentTo([Email]);
    }

    [Theory]
    [InlineData("""{"type":"track","properties":{"contact":"mary.major@gmail.com"}""", "email:marymajor@gmail.com")] // truncated JSON
    [InlineData("""["call", "+44 20 7946 0958", "re: order 77"]""", "phone:+442079460958")]
    [InlineData("""Mary (MARY.MAJOR+shop@googlemail.com) rang from 020 7946 0958""", "email:marymajor@gmail.com")]
    [InlineData("""{"type":"identify","traits":{"email":"Mary.Major@GMAIL.com"}}""", "email:marymajor@gmail.com")]
    public void Free_text_yields_every_email_and_phone_shaped_token_normalised(string text, string expected) =>
        Reader(new IdentityOptions { DefaultPhoneRegion = "GB" }).IdentifiersInText(text).Should().Contain(expected);

    [Fact]
    public void The_equivalent_domains_are_configurable()
    {
        var reader = Reader(new IdentityOptions { EmailDomainAliases = new() { ["clinic-mail.example"] = "clinic.example" } });

        reader.Normalise("email", "Jane@Clinic-Mail.example").Should().Be("email:jane@clinic.example");
        reader.Normalise("email", "jane.doe@googlemail.com").Should().Be("email:janedoe@googlemail.com", "setting the key replaces the default alias");
    }
}

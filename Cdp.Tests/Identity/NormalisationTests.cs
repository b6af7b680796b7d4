using System.Text.Json;
using Cdp.Modules.Identity;
using Cdp.Modules.Identity.Identifiers;

namespace Cdp.Tests.Identity;

public sealed class NormalisationTests
{
    private static IdentifierCatalogue Catalogue(string region = "US") => new(new IdentityOptions { DefaultPhoneRegion = region });

    [Theory]
    [InlineData(" Jane.Doe@Example.COM ", "jane.doe@example.com")]
    [InlineData("jane.doe+newsletter@gmail.com", "janedoe@gmail.com")]
    [InlineData("J.A.N.E@GoogleMail.com", "jane@gmail.com")]
    [InlineData("J.A.N.E.D.O.E+promo@googlemail.com", "janedoe@gmail.com")]
    [InlineData("jane+tag@example.com", "jane+tag@example.com")]
    [InlineData("jane@example.com.", "jane@example.com")]
    [InlineData("jane@", null)]
    [InlineData("@example.com", null)]
    [InlineData("jane doe@example.com", null)]
    [InlineData("jane@@example.com", null)]
    [InlineData("jane@localhost", null)]
    public void Emails_are_trimmed_lower_cased_googlemail_is_gmail_and_dots_and_tags_go_only_for_configured_domains(string raw, string? expected) =>
        Catalogue().Normalise(Catalogue().Find("email")!, raw).Should().Be(expected);

    [Theory]
    [InlineData("US", "(201) 555-0123", "+12015550123")]
    [InlineData("US", "+1 201-555-0123", "+12015550123")]
    [InlineData("US", "+44 20 7946 0958", "+442079460958")]
    [InlineData("US", "0044 20 7946 0958", "+442079460958")]
    [InlineData("GB", "020 7946 0958", "+442079460958")]
    [InlineData("DE", "0151 23456789", "+4915123456789")]
    [InlineData("DE", "+49 (0)151 2345 6789", "+4915123456789")]
    [InlineData("FR", "06 12 34 56 78", "+33612345678")]
    [InlineData("IN", "098765 43210", "+919876543210")]
    [InlineData("US", "12", null)]
    [InlineData("US", "call me", null)]
    [InlineData("US", "0000000", null)]
    public void Phones_become_E164_with_the_default_region_for_national_numbers(string region, string raw, string? expected) =>
        Catalogue(region).Normalise(Catalogue(region).Find("phone")!, raw).Should().Be(expected);

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("0")]
    [InlineData("00000000-0000-0000-0000-000000000000")]
    [InlineData("null")]
    [InlineData("NULL")]
    [InlineData("undefined")]
    [InlineData("anonymous")]
    [InlineData("N/A")]
    public void Placeholder_ids_are_blocked(string raw) =>
        Catalogue().Normalise(Catalogue().Find("user_id")!, raw).Should().BeNull();

    [Theory]
    [InlineData("test@test.com")]
    [InlineData("noreply@shop.com")]
    [InlineData("NULL@company.org")]
    public void Placeholder_emails_are_blocked(string raw) =>
        Catalogue().Normalise(Catalogue().Find("email")!, raw).Should().BeNull();

    [Fact]
    public void Configured_blocked_values_apply_per_type_and_globally()
    {
        var options = new IdentityOptions
        {
            BlockedValues = ["^kiosk-"],
            Types = new()
            {
                ["user_id"] = new() { Priority = 1, Limit = 1, BlockedValues = ["^guest\\d+$"] },
                ["anonymous_id"] = new() { Priority = 5 },
            },
        };
        var c = new IdentifierCatalogue(options);
        c.Normalise(c.Find("user_id")!, "guest42").Should().BeNull();
        c.Normalise(c.Find("anonymous_id")!, "guest42").Should().Be("guest42");
        c.Normalise(c.Find("anonymous_id")!, "kiosk-7").Should().BeNull();
    }

    [Fact]
    public void Identifiers_come_from_ids_device_external_ids_and_mapped_traits_strongest_first()
    {
        var options = new IdentityOptions
        {
            Types = new()
            {
                ["user_id"] = new() { Priority = 1, Limit = 1 },
                ["crm_id"] = new() { Priority = 2, Limit = 1, ExternalIdTypes = ["salesforce_id"], Traits = ["crmId"] },
                ["email"] = new() { Priority = 3, Normaliser = IdentifierNormaliser.Email, Traits = ["email"] },
                ["device_id"] = new() { Priority = 4 },
                ["anonymous_id"] = new() { Priority = 5 },
            },
        };
        var c = new IdentifierCatalogue(options);
        using var doc = JsonDocument.Parse("""
            {"type":"identify","userId":" u-1 ","anonymousId":"a-1","traits":{"email":"A@Example.com","crmId":"C-9"},
             "context":{"device":{"id":"dev-1"},"externalIds":[{"id":"C-9","type":"salesforce_id","collection":"users"},{"id":"x","type":"other"}],
                        "traits":{"email":"a@example.com"}}}
            """);
        c.Extract(doc.RootElement).Select(i => i.Key).Should().Equal(
            "user_id:u-1", "crm_id:C-9", "email:a@example.com", "device_id:dev-1", "anonymous_id:a-1");
    }
}

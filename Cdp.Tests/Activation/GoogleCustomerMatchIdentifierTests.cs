using System.Text.Json;
using Cdp.Modules.Activation.Destinations.Google;
using Cdp.Modules.Activation.Engine;

namespace Cdp.Tests.Activation;

/// <summary>
/// Google's normalisation rules for Customer Match, table-driven with the examples of Google's Customer Match guide
/// (customer@example.com, dana@example.com, alex.2@example.com, John / Doe, +1 800 5550102, US 10011) and of its E.164 and
/// gmail rules. The SHA-256 column was computed outside Cdp (printf '%s' value | sha256sum).
/// </summary>
public sealed class GoogleCustomerMatchIdentifierTests
{
    [Theory]
    [InlineData("customer@example.com", "customer@example.com", "e233d4a29013e9d87150c6237c6777bedf379ebf1acdc5d6126fec7e8bb74fb5")]
    [InlineData("  Dana@Example.com ", "dana@example.com", "07e2f1394b0ea80e2adca010ea8318df697001a005ba7452720edda4b0ce57b3")]
    [InlineData("alex.2@example.com", "alex.2@example.com", "97a24240e3c76dfc0abdb63a3d73468ff8d94b81fd3dc084cc32994ba4fad7fe")] // dots kept outside gmail
    [InlineData(" Jane.Doe@GMAIL.com", "janedoe@gmail.com", "d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69")]
    [InlineData("john.smith@googlemail.com", "johnsmith@googlemail.com", "b1dd4aa5ffe1507d6883708fdf4f7a88d176b107097b541c6975a70e2b8ffbb8")]
    [InlineData("customer @example.com", "customer@example.com", "e233d4a29013e9d87150c6237c6777bedf379ebf1acdc5d6126fec7e8bb74fb5")]
    public void Emails_are_trimmed_lower_cased_and_lose_gmail_dots_before_SHA_256(string raw, string normalised, string sha256)
    {
        CustomerMatchIdentifiers.NormaliseEmail(raw).Should().Be(normalised);
        CustomerMatchIdentifiers.Sha256(normalised).Should().Be(sha256);
    }

    [Theory]
    [InlineData("+1 800 5550102", null, "+18005550102", "c5383c2eeada28210d27f011bc127d4f9562cf38ff0c9bba33dd45ae79b9fe7c")]
    [InlineData("(212) 565-0000", "US", "+12125650000", "d360a79e746532a6a1e7b8164440b04cdd8797e23126f7a4de7a4b67fdcdba98")]
    [InlineData("020 7031 3000", "gb", "+442070313000", "f3d7e96c73fb0de1b66acfce541d7af758fbd4f3fa3af0ea4e10110000d3625e")]
    [InlineData("+44 (0)20 7031 3000", null, "+442070313000", "f3d7e96c73fb0de1b66acfce541d7af758fbd4f3fa3af0ea4e10110000d3625e")]
    public void Phones_are_written_in_E164_with_their_plus_before_SHA_256(string raw, string? region, string normalised, string sha256)
    {
        CustomerMatchIdentifiers.NormalisePhone(raw, region).Should().Be(normalised);
        CustomerMatchIdentifiers.Sha256(normalised).Should().Be(sha256);
    }

    [Theory]
    [InlineData("2125650000", null)] // no country code and no country to read it in
    [InlineData("not a number", "US")]
    [InlineData("+1 555", null)]
    public void A_phone_that_is_no_valid_number_is_left_out_not_sent_raw(string raw, string? region) =>
        CustomerMatchIdentifiers.NormalisePhone(raw, region).Should().BeNull();

    [Theory]
    [InlineData("John", "john", "96d9632f363564cc3032521409cf22a852f2032eec099ed5967c0d000cec607a")]
    [InlineData("  DOE ", "doe", "799ef92a11af918e3fb741df42934f3b568ed2d93ac1df74f1b8d41a27932a6f")]
    [InlineData("Mary   Ann", "mary ann", "343b97011010c3549fe7fcd6c226ed9431ea37b0b77ed78f6300a0098925faf1")]
    public void Names_are_trimmed_lower_cased_with_inner_spaces_collapsed_before_SHA_256(string raw, string normalised, string sha256)
    {
        CustomerMatchIdentifiers.NormaliseName(raw).Should().Be(normalised);
        CustomerMatchIdentifiers.Sha256(normalised).Should().Be(sha256);
    }

    [Fact]
    public void A_member_gets_hashed_email_phone_and_an_address_whose_country_and_postal_code_stay_in_clear()
    {
        static KeyValuePair<string, JsonElement> F(string name, string value) => new(name, JsonSerializer.SerializeToElement(value));
        var member = new OutgoingMember("p1", "customer@example.com",
            [F("countryCode", " us"), F("firstName", "John"), F("lastName", "Doe"), F("phone", "(212) 565-0000"), F("postalCode", " 10011 ")], 0);

        var user = CustomerMatchIdentifiers.Of(member, keyIsEmail: true);

        user.HashedEmail.Should().Be("e233d4a29013e9d87150c6237c6777bedf379ebf1acdc5d6126fec7e8bb74fb5");
        user.HashedPhone.Should().Be("d360a79e746532a6a1e7b8164440b04cdd8797e23126f7a4de7a4b67fdcdba98", "read in the member's country");
        user.Address.Should().Be(new CustomerMatchAddress("96d9632f363564cc3032521409cf22a852f2032eec099ed5967c0d000cec607a",
            "799ef92a11af918e3fb741df42934f3b568ed2d93ac1df74f1b8d41a27932a6f", "US", "10011"));

        var incomplete = CustomerMatchIdentifiers.Of(member with { Fields = [F("firstName", "John"), F("lastName", "Doe"), F("countryCode", "US")] }, keyIsEmail: true);
        incomplete.Address.Should().BeNull("Google takes an address only with first name, last name, country code and postal code together");
        incomplete.IdentifierCount.Should().Be(1);
    }

    [Fact]
    public void Requests_are_cut_so_that_none_holds_more_than_100000_identifiers()
    {
        var counts = Enumerable.Repeat(3, 40_000).Concat(Enumerable.Repeat(1, 5)).ToList(); // 120,005 identifiers

        var requests = GoogleCustomerMatchSession.Requests(counts, GoogleCustomerMatchSession.MaxIdentifiersPerRequest).ToList();

        requests.Should().HaveCount(2);
        requests[0].Should().Be((0, 33_333), "33,333 members x 3 = 99,999 identifiers; one more would be 100,002");
        requests[1].Should().Be((33_333, 6_672));
        requests.Sum(r => counts.Skip(r.Start).Take(r.Count).Sum()).Should().Be(120_005);
        GoogleCustomerMatchSession.Requests(Enumerable.Repeat(1, 100_000).ToList(), 100_000).Should().ContainSingle("exactly at the limit fits one request");
    }

    [Fact]
    public void The_proto_contract_accepts_Googles_own_field_names_and_flags_an_unknown_field_or_enum_value()
    {
        var contract = GoogleAdsProtoContract.V25;
        contract.FieldsOf("UserIdentifier").Should().Contain(["hashedEmail", "hashedPhoneNumber", "addressInfo"]);
        contract.FieldsOf("OfflineUserAddressInfo").Should().Contain(["hashedFirstName", "hashedLastName", "countryCode", "postalCode"]);
        contract.FieldsOf("UserAttribute").Should().Contain("lifetimeValueMicros");
        contract.ValuesOf("ConsentStatus").Should().Contain(["GRANTED", "DENIED", "UNSPECIFIED"]);

        FakeRequest Post(string path, string body) => new("POST", path, "", new Dictionary<string, string>(), body);
        const string job = "/v25/customers/1234567890/offlineUserDataJobs/7:addOperations";
        contract.Check(Post(job, """{"operations":[{"removeAll":true},{"create":{"userIdentifiers":[{"hashedEmail":"ab"}]}}],"enablePartialFailure":true}"""))
            .Should().BeEmpty();
        contract.Check(Post(job, """{"operations":[{"create":{"userIdentifiers":[{"hashed_email":"ab"}]}}]}"""))
            .Should().ContainSingle().Which.Should().Contain("hashed_email: no such field in UserIdentifier");
        contract.Check(Post(job, """{"operations":[{"create":{"userIdentifiers":[]},"remove":{"userIdentifiers":[]}}]}"""))
            .Should().ContainSingle().Which.Should().Contain("oneof operation");
        contract.Check(Post("/v25/customers/1234567890/offlineUserDataJobs:create",
                """{"job":{"type":"CUSTOMER_MATCH","customerMatchUserListMetadata":{"userList":"x","consent":{"adUserData":"YES"}}}}"""))
            .Should().HaveCount(2).And.Contain(v => v.Contains("job.type: must be one of OfflineUserDataJobType")).And.Contain(v => v.Contains("adUserData: must be one of ConsentStatus"));
        contract.Check(Post("/v25/customers/1234567890/offlineUserDataJobs:get", "{}")).Should().ContainSingle().Which.Should().Contain("no method");
    }
}

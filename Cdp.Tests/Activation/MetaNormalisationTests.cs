using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cdp.Modules.Activation.Destinations.Meta;
using Cdp.Tests.Support;

namespace Cdp.Tests.Activation;

/// <summary>
/// Meta's identifier normalisation and hashing, table-driven: Meta's own documented examples (input -> normalised -> SHA-256),
/// Meta's customer-file rules, and an independent check against Meta's own server-side normaliser (facebook-nodejs-business-sdk
/// ServerSideUtils.normalizeAndHash, pinned in Cdp.Tests/Node) wherever the SDK's rule is the customer-file rule.
/// </summary>
public sealed class MetaNormalisationTests
{
    /// <summary>Meta's documented examples with their published SHA-256 (Marketing API, customer information parameters).</summary>
    [Theory]
    [InlineData("EMAIL", "John_Smith@gmail.com", "john_smith@gmail.com", "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f")]
    [InlineData("PHONE", "(650)555-1212", "16505551212", "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176")]
    [InlineData("FN", "Mary", "mary", "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec")]
    [InlineData("FN", "정", "정", "8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14")]
    [InlineData("LN", "Valéry", "valéry", "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c")]
    public void Metas_documented_examples_normalise_and_hash_to_the_published_SHA256(string key, string input, string normalised, string sha256)
    {
        MetaNormalisation.Normalise(key, input, "US").Should().Be(normalised);
        MetaNormalisation.Wire(key, input, "US").Should().Be(sha256);
    }

    /// <summary>Meta's customer-file rules (Hashing and Normalizing Data), input -> normalised; the hash is SHA-256 of the UTF-8 bytes.</summary>
    [Theory]
    [InlineData("EMAIL", "  Jane.Doe@Example.COM ", "jane.doe@example.com")]
    [InlineData("EMAIL", "not an address", null)]
    [InlineData("PHONE", "+1 (616) 954-78 88", "16169547888")]
    [InlineData("PHONE", "+44 20 7183 8750", "442071838750")]
    [InlineData("PHONE", "0033 1 23 45 67 89", "33123456789")]
    [InlineData("PHONE", "16505551212", "16505551212")]
    [InlineData("PHONE", "12", null)]
    [InlineData("FN", "  Jean-Luc ", "jeanluc")]
    [InlineData("LN", "O'Brien", "obrien")]
    [InlineData("CT", "Menlo Park", "menlopark")]
    [InlineData("CT", "San José", "sanjosé")]
    [InlineData("ST", "CA", "ca")]
    [InlineData("ST", "California", "ca")]
    [InlineData("ST", "North Carolina", "nc")]
    [InlineData("ST", "Île-de-France", "îledefrance")]
    [InlineData("ZIP", "98121-9431", "98121")]
    [InlineData("ZIP", "94035", "94035")]
    [InlineData("ZIP", "NR9 5AL", "nr95al")]
    [InlineData("COUNTRY", "US", "us")]
    [InlineData("COUNTRY", " fr ", "fr")]
    [InlineData("COUNTRY", "Germany", null)]
    [InlineData("DOBY", "1997", "1997")]
    [InlineData("DOBY", "97", null)]
    [InlineData("DOBM", "2", "02")]
    [InlineData("DOBM", "13", null)]
    [InlineData("DOBD", "7", "07")]
    [InlineData("DOBY", "1990-05-17", "1990")]
    [InlineData("DOBM", "1990-05-17", "05")]
    [InlineData("DOBD", "1990-05-17", "17")]
    [InlineData("GEN", "Female", "f")]
    [InlineData("GEN", "M", "m")]
    [InlineData("GEN", "other", null)]
    [InlineData("EXTERN_ID", " crm-00042 ", "crm-00042")]
    [InlineData("MADID", "AECE52E7-03EE-455A-B3C4-E57283966239", "aece52e7-03ee-455a-b3c4-e57283966239")]
    public void Each_identifier_is_normalised_as_Meta_documents_and_a_value_that_cannot_be_is_dropped(string key, string input, string? normalised)
    {
        MetaNormalisation.Normalise(key, input, "US").Should().Be(normalised);
        var wire = MetaNormalisation.Wire(key, input, "US");
        if (normalised is null) wire.Should().BeNull();
        else if (key == "MADID") wire.Should().Be(normalised, "Meta's table: MADID is sent as it is, not hashed");
        else wire.Should().Be(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)))).And.MatchRegex("^[0-9a-f]{64}$");
    }

    [Fact]
    public void A_national_phone_number_is_read_in_the_default_region()
    {
        MetaNormalisation.Normalise("PHONE", "01 23 45 67 89", "FR").Should().Be("33123456789", "no leading zero, the country code first");
        MetaNormalisation.Normalise("PHONE", "(650) 555-1212", "US").Should().Be("16505551212");
    }

    /// <summary>Inputs on which the SDK's rule and the customer-file rule agree: the hashes must be identical.</summary>
    public static TheoryData<string, string, string> SdkCases => new()
    {
        { "EMAIL", "em", " John_Smith@Gmail.com " },
        { "EMAIL", "em", "jane.doe@example.com" },
        { "PHONE", "ph", "+1 (650) 555-1212" },
        { "PHONE", "ph", "+44 20 7183 8750" },
        { "FN", "fn", "Mary" },
        { "FN", "fn", "Valéry" },
        { "LN", "ln", "Smith" },
        { "CT", "ct", "Menlo Park" },
        { "CT", "ct", "London" },
        { "ST", "st", "CA" },
        { "ZIP", "zp", "98121-9431" },
        { "ZIP", "zp", "NR9 5AL" },
        { "COUNTRY", "country", "US" },
        { "COUNTRY", "country", "fr" },
        { "GEN", "ge", "Female" },
        { "GEN", "ge", "m" },
        { "DOBY", "doby", "1997" },
        { "DOBM", "dobm", "2" },
        { "DOBD", "dobd", "16" },
    };

    [Fact]
    public async Task Hashes_equal_those_of_Metas_own_SDK_normaliser()
    {
        NodePackages.Require("facebook-nodejs-business-sdk");
        var cases = SdkCases.Select(c => ((string)c[0], (string)c[1], (string)c[2])).ToList();
        var (exit, stdout, stderr) = await NodePackages.RunAsync("meta-normalize.mjs", JsonSerializer.Serialize(cases.Select(c => new[] { c.Item2, c.Item3 })));
        exit.Should().Be(0, stderr);
        var sdk = JsonSerializer.Deserialize<string?[]>(stdout.Trim().Split('\n').Last())!;
        sdk.Should().HaveCount(cases.Count);
        for (var i = 0; i < cases.Count; i++)
        {
            sdk[i].Should().NotBeNull($"the SDK accepts {cases[i].Item3}");
            MetaNormalisation.Wire(cases[i].Item1, cases[i].Item3, "US").Should().Be(sdk[i], $"{cases[i].Item1} '{cases[i].Item3}' hashes as Meta's SDK does");
        }
    }
}

/// <summary>The rows a Meta audience gets from a profile: wire values only, a bad identifier or value costing only itself.</summary>
public sealed class MetaAudienceRowsTests
{
    private static Cdp.Modules.Profiles.Contracts.ProfileView View(string traits, string computed) => new("p_1",
        JsonDocument.Parse(traits).RootElement, JsonDocument.Parse(computed).RootElement, DateTime.UtcNow, DateTime.UtcNow, 1,
        new Dictionary<string, long>(), new Dictionary<string, long>(), new Dictionary<string, Cdp.Modules.Profiles.Contracts.SourcePresence>(), []);

    [Theory]
    [InlineData("200", 200)]
    [InlineData("35.5", 35.5)]
    [InlineData("\"120.25\"", 120.25)]
    [InlineData("\"lots\"", 0)]
    [InlineData("-5", 0)]
    [InlineData("true", 0)]
    [InlineData("{\"eur\":5}", 0)]
    [InlineData("null", 0)]
    public void A_member_value_that_is_not_a_non_negative_number_is_sent_as_0_and_the_row_keeps_its_identifiers(string value, double sent)
    {
        var sync = new Cdp.Modules.Activation.Configuration.SyncSettings { ValueTrait = "computed.lifetime_revenue" };
        var rows = new MetaAudienceRows(sync, new Cdp.Modules.Activation.Configuration.DestinationSettings { Type = "MetaCustomAudience" });
        var fields = rows.Fields(View("""{"email":"Ann@Example.com","phone":12,"firstName":["x"]}""", $$"""{"lifetime_revenue":{{value}}}"""));

        fields.Single(f => f.Key == "LOOKALIKE_VALUE").Value.GetDouble().Should().Be(sent);
        fields.Single(f => f.Key == "EMAIL").Value.GetString().Should().Be(MetaNormalisation.Hash("ann@example.com"));
        fields.Single(f => f.Key == "PHONE").Value.ValueKind.Should().Be(JsonValueKind.Null, "12 is no phone number: that identifier is dropped");
        fields.Single(f => f.Key == "FN").Value.ValueKind.Should().Be(JsonValueKind.Null, "an array is no name");
        var body = JsonDocument.Parse(rows.Body([new("p_1", "ann@example.com", fields, 0)], withValue: true)).RootElement.GetProperty("payload");
        body.GetProperty("schema").EnumerateArray().Select(s => s.GetString()).Should().Equal("EMAIL", "PHONE", "FN", "LN", "COUNTRY", "LOOKALIKE_VALUE");
        var row = body.GetProperty("data")[0].EnumerateArray().ToList();
        row[1].GetString().Should().Be("", "a missing identifier is sent empty");
        row[5].GetString().Should().Be(sent.ToString(System.Globalization.CultureInfo.InvariantCulture), "Meta's example sends the value as a decimal text");
    }
}

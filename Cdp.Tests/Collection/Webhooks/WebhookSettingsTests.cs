using System.Security.Cryptography;
using Cdp.Modules.Collection;
using Cdp.Modules.Collection.Webhooks;

namespace Cdp.Tests.Collection.Webhooks;

/// <summary>Webhook sources' settings: a wrong one stops the start naming the key (the validator behind exit code 2).</summary>
public sealed class WebhookSettingsTests
{
    private static IReadOnlyList<string> Errors(params (string Name, SourceOptions Source)[] sources)
    {
        var options = new SourcesOptions();
        foreach (var (name, source) in sources) options[name] = source;
        return new SourcesOptionsValidator().Validate(options).Errors.Select(e => e.PropertyName + ": " + e.ErrorMessage).ToList();
    }

    [Fact]
    public void Well_formed_webhook_sources_need_no_write_key()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var mapped = new SourceOptions { Kind = "mapped", Secret = "a-long-random-url-secret-43" };
        mapped.Mapping.Event = "Call Completed";
        mapped.Mapping.Identifiers["phone"] = "$.caller.phone";

        Errors(
            ("sg", new SourceOptions { Kind = "SendGrid", PublicKey = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()) }),
            ("mc", new SourceOptions { Kind = "Mailchimp", Secret = "mc-secret-0123456789abcdef" }),
            ("brevo", new SourceOptions { Kind = "Brevo", Token = "brevo-token-0123456789abcdef" }),
            ("calls", mapped)).Should().BeEmpty();
    }

    [Fact]
    public void Missing_or_wrong_webhook_settings_are_named_by_their_key()
    {
        using var rsa = RSA.Create(2048);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var mapped = new SourceOptions { Kind = "Mapped" };
        mapped.Mapping.Identifiers["phone"] = "caller.phone";
        mapped.Mapping.Properties["x"] = "$.a[";

        var errors = Errors(
            ("kind", new SourceOptions { Kind = "Zapier" }),
            ("sg-none", new SourceOptions { Kind = "SendGrid" }),
            ("sg-rsa", new SourceOptions { Kind = "SendGrid", PublicKey = Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()) }),
            ("sg-p384", new SourceOptions { Kind = "SendGrid", PublicKey = Convert.ToBase64String(p384.ExportSubjectPublicKeyInfo()) }),
            ("mc", new SourceOptions { Kind = "Mailchimp", Secret = "short" }),
            ("brevo", new SourceOptions { Kind = "Brevo" }),
            ("calls", mapped));

        errors.Should().Contain(e => e.StartsWith("kind:Kind:", StringComparison.Ordinal) && e.Contains("Zapier"));
        errors.Should().Contain(e => e.StartsWith("sg-none:PublicKey:", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("sg-rsa:PublicKey:", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("sg-p384:PublicKey:", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("mc:Secret:", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("brevo:Token:", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("calls:Secret:", StringComparison.Ordinal), "a mapped source with neither a secret nor a signature");
        errors.Should().Contain(e => e.StartsWith("calls:Mapping:Event:", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("calls:Mapping:Identifiers:phone:", StringComparison.Ordinal), "an identifier must be a path");
        errors.Should().Contain(e => e.StartsWith("calls:Mapping:Properties:x:", StringComparison.Ordinal));
        errors.Should().NotContain(e => e.Contains(":WriteKey", StringComparison.Ordinal), "webhook sources have no write key");
    }
}

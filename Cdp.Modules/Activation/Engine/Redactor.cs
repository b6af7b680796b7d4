using System.Text.RegularExpressions;
using Cdp.Modules.Activation.Configuration;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Activation.Engine;

/// <summary>Errors go to the run history and the logs without secrets: configured keys, secrets and passwords become "***".</summary>
[Service]
internal sealed partial class Redactor(IOptions<ActivationOptions> options)
{
    private readonly string[] _secrets = options.Value.Destinations.Values
        .SelectMany(d => new[] { d.ApiKey, d.Secret, d.AccessToken, d.Sftp?.Password ?? "", d.Sftp?.PrivateKeyPassphrase ?? "", d.DeveloperToken, d.ClientSecret, d.RefreshToken })
        .Where(s => s.Length >= 4).Distinct().OrderByDescending(s => s.Length).ToArray();

    public string Redact(string text)
    {
        foreach (var s in _secrets) text = text.Replace(s, "***", StringComparison.Ordinal);
        return Credentials().Replace(text, "$1***");
    }

    [GeneratedRegex("((?:authorization|api-key|apikey|bearer|basic)[\"']?\\s*[:=]?\\s*[\"']?)[A-Za-z0-9._~+/=-]{8,}", RegexOptions.IgnoreCase)]
    private static partial Regex Credentials();
}

/// <summary>Called after a destination acknowledged a batch and before its state is committed (tests use it to crash there).</summary>
internal interface IBatchCommitHook
{
    void BeforeCommit(string sync, int batch);
}

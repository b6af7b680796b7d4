namespace Cdp.Modules.Identity.Contracts;

/// <summary>Replays the whole event log under the current and under a proposed <c>Cdp:Identity</c> section, in memory only.</summary>
public interface IIdentityDryRun
{
    /// <param name="proposedSettingsFile">A JSON file with {"Cdp":{"Identity":{...}}}, {"Identity":{...}} or the section's body.</param>
    /// <param name="progress">Called with (events read, log head) now and then.</param>
    DryRunReport Run(string proposedSettingsFile, Action<long, long>? progress = null, int maxExamples = 20);
}

/// <summary>
/// Merges: proposed profiles that join identifiers of several current profiles. Splits: current profiles whose
/// identifiers end up in several proposed profiles. Errors: the proposed settings are invalid (nothing was replayed).
/// </summary>
public sealed record DryRunReport(
    long Events, int ProfilesNow, int ProfilesProposed, int Merges, int Splits,
    int IdentifiersOnlyNow, int IdentifiersOnlyProposed, IReadOnlyList<DryRunExample> Examples, IReadOnlyList<string> Errors);

public sealed record DryRunExample(string Kind, IReadOnlyList<IReadOnlyList<string>> IdentifiersByProfile);

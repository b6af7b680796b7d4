using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Matching.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Host.Cli;

/// <summary>
/// <c>cdp match run [--full] [--retrain]</c>: brings the profiles up to date with the event log, then runs probabilistic
/// matching on the configured database (incremental unless --full; --retrain learns the model again) and prints the report.
/// </summary>
internal static class MatchRunVerb
{
    public static Task<int> RunAsync(bool full, bool retrain, string[] settings)
    {
        return CliHost.RunAsync(settings, withProcessor: true, async services =>
        {
            var head = services.GetRequiredService<IEventLog>().LastSequence;
            var processor = services.GetRequiredService<IProfileProcessor>();
            await processor.WaitForCheckpointAsync(head, CancellationToken.None);
            var r = await services.GetRequiredService<IProfileMatching>().RunAsync(full, retrain, "cli", CancellationToken.None);
            Console.WriteLine($"matching run {r.Id}{(r.Full ? " (full)" : "")}: {r.ProfilesCompared:N0} of {r.Profiles:N0} profiles compared in {r.DurationSeconds:N2} s");
            Console.WriteLine($"  candidate pairs: {r.CandidatePairs:N0}");
            foreach (var rule in r.CandidatePairsPerRule) Console.WriteLine($"    {rule.Rule}: {rule.Pairs:N0} ({rule.NewPairs:N0} new)");
            Console.WriteLine($"  at or above Review: {r.PairsAboveReview:N0}; auto-merged: {r.AutoMerged:N0}; queued for review: {r.QueuedForReview:N0} " +
                              $"({r.RefusedByRules:N0} refused by the merge rules, {r.HeldByMemberGuard:N0} held because members disagree); skipped as rejected: {r.SkippedAsRejected:N0}; already queued: {r.AlreadyQueued:N0}");
            if (r.Note is not null) Console.WriteLine("  " + r.Note);
            foreach (var w in r.FieldWarnings ?? []) Console.WriteLine("  warning: " + w.Message);
            return 0;
        });
    }
}

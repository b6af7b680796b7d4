using Cdp.Modules.Profiles.Contracts;
using Cdp.Modules.Pipeline.Contracts;

namespace Cdp.Host.Cli;

/// <summary><c>cdp unmerge &lt;mergeId&gt;</c>: undoes a merge record and recomputes the affected profiles from the log.</summary>
internal static class UnmergeVerb
{
    public static Task<int> RunAsync(string? mergeId, string[] settings)
    {
        if (mergeId is null)
        {
            Console.Error.WriteLine("usage: cdp unmerge <mergeId>   (merge ids are listed by GET /api/profiles/{id}/merges)");
            return Task.FromResult(1);
        }
        return CliHost.RunAsync(settings, withProcessor: true, async services =>
        {
            var result = await services.GetRequiredService<IProfileProcessor>().UnmergeAsync(mergeId, CancellationToken.None);
            if (result is null)
            {
                Console.Error.WriteLine($"no merge record '{mergeId}'");
                return 3;
            }
            Console.WriteLine($"unmerged {result.MergeId}: {result.DissolvedProfile} recomputed from {result.EventsReplayed} events into {string.Join(", ", result.Profiles)}");
            return 0;
        });
    }
}

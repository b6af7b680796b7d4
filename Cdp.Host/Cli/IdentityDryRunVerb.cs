using Cdp.Modules.Identity.Contracts;

namespace Cdp.Host.Cli;

/// <summary>
/// <c>cdp identity dry-run &lt;proposed.json&gt;</c>: replays the log under a proposed Cdp:Identity section and
/// reports which profiles would merge or split; nothing is written.
/// </summary>
internal static class IdentityDryRunVerb
{
    public const string Usage = "usage: cdp identity dry-run <proposed-identity.json>   (a file with {\"Cdp\":{\"Identity\":{...}}})";

    public static Task<int> RunAsync(string? file, string[] settings)
    {
        if (file is null)
        {
            Console.Error.WriteLine(Usage);
            return Task.FromResult(1);
        }
        return CliHost.RunAsync(settings, withProcessor: false, services =>
        {
            var lastPrint = DateTime.UtcNow;
            var report = services.GetRequiredService<IIdentityDryRun>().Run(file, (read, head) =>
            {
                if (DateTime.UtcNow - lastPrint < TimeSpan.FromSeconds(2)) return;
                lastPrint = DateTime.UtcNow;
                Console.WriteLine($"  replayed {read:N0} / {head:N0} events");
            });
            if (report.Errors.Count > 0)
            {
                Console.Error.WriteLine($"the proposed settings in {file} are invalid:");
                foreach (var e in report.Errors) Console.Error.WriteLine("  - " + e);
                return Task.FromResult(2);
            }
            Console.WriteLine($"replayed {report.Events:N0} events: {report.ProfilesNow:N0} profiles now, {report.ProfilesProposed:N0} under the proposed rules");
            Console.WriteLine($"  {report.Merges:N0} proposed profiles would merge profiles of today; {report.Splits:N0} profiles of today would split");
            Console.WriteLine($"  identifiers only today: {report.IdentifiersOnlyNow:N0}; only under the proposal: {report.IdentifiersOnlyProposed:N0}");
            foreach (var x in report.Examples)
                Console.WriteLine($"  {x.Kind}: " + string.Join("  |  ", x.IdentifiersByProfile.Select(p => string.Join(", ", p.Take(4)) + (p.Count > 4 ? $" (+{p.Count - 4})" : ""))));
            Console.WriteLine("nothing was changed");
            return Task.FromResult(0);
        });
    }
}

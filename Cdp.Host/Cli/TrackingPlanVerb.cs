using System.Globalization;
using System.Text.RegularExpressions;
using Cdp.Modules.Collection.Contracts;

namespace Cdp.Host.Cli;

/// <summary>
/// <c>cdp tracking-plan infer --source &lt;name&gt; [--since 30d] [--out &lt;file&gt;]</c>: a draft tracking plan from the
/// calls the source sent since then (<see cref="ITrackingPlanInference"/>). Without --out the plan goes to stdout (and the
/// near-duplicates, like the host's log lines, to stderr: stdout stays the JSON); with --out it is written to the file and a
/// summary printed. Exit 0 done, 1 bad arguments or an unknown source (the message names the configured ones).
/// </summary>
internal static partial class TrackingPlanVerb
{
    public const string Usage = "usage: cdp tracking-plan infer --source <name> [--since 30d] [--out <file>] (cdp tracking-plan infer --help)";

    public static Task<int> InferAsync(string? source, string since, string? outFile, string[] settings, TextWriter output, TextWriter error)
    {
        var name = CliArgs.Required(source, "source");
        var start = DateTime.UtcNow - Age(since);
        // the host's log lines go to stderr (before the caller's settings, which may say otherwise): stdout is the plan
        string[] args = ["--Logging:LogLevel:Default=Warning", "--Logging:Console:LogToStandardErrorThreshold=Trace", .. settings];
        return CliHost.RunAsync(args, withProcessor: false, services =>
        {
            var draft = services.GetRequiredService<ITrackingPlanInference>().Infer(name, start, CancellationToken.None);
            var nearDuplicates = outFile is null ? error : output;
            if (outFile is null)
            {
                output.WriteLine(draft.Plan);
            }
            else
            {
                File.WriteAllText(outFile, draft.Plan + Environment.NewLine);
                output.WriteLine($"wrote {outFile}: {draft.TrackEvents:N0} track events from {draft.Calls:N0} calls of source '{name}' since " +
                                 $"{start:yyyy-MM-dd HH:mm} UTC ({draft.EventsRead:N0} log events read in {draft.Duration.TotalSeconds:N1} s)");
            }
            nearDuplicates.WriteLine(draft.NearDuplicates.Count == 0 ? "near-duplicates: none" : $"near-duplicates: {draft.NearDuplicates.Count}");
            foreach (var near in draft.NearDuplicates)
                nearDuplicates.WriteLine($"  {near.Where}: " + string.Join(" ~ ", near.Names.Select((n, i) => $"'{n}' ({near.Calls[i]:N0})")));
            return Task.FromResult(0);
        });
    }

    /// <summary>"30d", "12h", "90m": days, hours or minutes back from now.</summary>
    internal static TimeSpan Age(string since)
    {
        var m = AgePattern().Match(since.Trim());
        if (!m.Success || !int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
            throw new ArgumentException($"--since '{since}' is not an age: a whole number of days, hours or minutes, e.g. 30d, 12h or 90m");
        return m.Groups[2].Value switch
        {
            "d" => TimeSpan.FromDays(n),
            "h" => TimeSpan.FromHours(n),
            _ => TimeSpan.FromMinutes(n),
        };
    }

    [GeneratedRegex("^([0-9]{1,5})([dhm])$")] // at most 99999d: a start after year 1
    private static partial Regex AgePattern();
}

using System.Globalization;
using Cdp.Modules.Scheduling.Contracts;

namespace Cdp.Modules.Scheduling.Kinds;

/// <summary>
/// "diagnostics-sleep" (only with Cdp:Scheduling:DiagnosticKinds=true): appends "started &lt;jobId&gt; &lt;pid&gt;" to the
/// file named by Arguments:File, sleeps Arguments:Seconds, then appends "finished &lt;jobId&gt; &lt;pid&gt;".
/// Used to watch a job survive a crash of the process that ran it.
/// </summary>
internal sealed class DiagnosticSleepJobKind : IRecurringJobKind
{
    public const string KindName = "diagnostics-sleep";

    public string Name => KindName;

    public async Task RunAsync(RecurringJobRun run, CancellationToken cancellationToken)
    {
        var file = run.Arguments.GetValueOrDefault("File") ?? throw new InvalidOperationException("Arguments:File is required");
        var seconds = double.Parse(run.Arguments.GetValueOrDefault("Seconds") ?? "1", CultureInfo.InvariantCulture);
        var pid = Environment.ProcessId;
        await File.AppendAllTextAsync(file, $"started {run.JobId} {pid}\n", cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(seconds), cancellationToken);
        await File.AppendAllTextAsync(file, $"finished {run.JobId} {pid}\n", cancellationToken);
    }
}

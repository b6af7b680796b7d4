using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Cdp.Tests.Support;

namespace Cdp.Tests.Scheduling;

/// <summary>Cdp.Host as a real process: killed with SIGKILL while a job runs, the job runs again after restart.</summary>
public sealed class SchedulingProcessTests : IDisposable
{
    private const string AdminKey = "process-test-admin-key-0123456789";
    private readonly TempFolder _folder = new();
    private readonly List<Process> _started = [];
    private readonly Dictionary<int, System.Text.StringBuilder> _stderr = [];

    public void Dispose()
    {
        foreach (var p in _started)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        _folder.Dispose();
    }

    private string Marker => _folder.File("sleepy.log");

    private (Process Process, Uri Url) StartCdp(double jobSeconds, params string[] extra)
    {
        var port = CdpProcess.FreePort();
        var args = new List<string>
        {
            CdpProcess.HostDll,
            "--urls", $"http://127.0.0.1:{port}",
            $"--Cdp:Storage:Path={_folder.File("cdp.db")}",
            $"--Cdp:Admin:ApiKeys:ops:Key={AdminKey}",
            "--Cdp:Admin:ApiKeys:ops:Role=Admin",
            "--Cdp:Scheduling:DiagnosticKinds=true",
            "--Cdp:Scheduling:InvisibilityTimeout=00:00:02",
            "--Cdp:Scheduling:QueuePollInterval=00:00:00.200",
            "--Cdp:Scheduling:RecurringJobs:sleepy:Kind=diagnostics-sleep",
            "--Cdp:Scheduling:RecurringJobs:sleepy:Cron=0 0 1 1 *",
            $"--Cdp:Scheduling:RecurringJobs:sleepy:Arguments:File={Marker}",
            $"--Cdp:Scheduling:RecurringJobs:sleepy:Arguments:Seconds={jobSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            "--Logging:LogLevel:Default=Warning",
        };
        args.AddRange(extra);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        var process = new Process { StartInfo = info };
        var stderr = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        process.Start();
        _stderr[process.Id] = stderr;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _started.Add(process);
        return (process, new Uri($"http://127.0.0.1:{port}"));
    }


    private static async Task<HttpClient> Ready(Uri url, Process process)
    {
        var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        await Eventually.Until(() =>
        {
            if (process.HasExited) throw new InvalidOperationException("Cdp.Host exited with code " + process.ExitCode);
            try { return client.GetAsync("/health/live").Result.IsSuccessStatusCode; }
            catch (AggregateException) { return false; }
        }, "Cdp.Host to answer /health/live", seconds: 60);
        return client;
    }

    private string[] MarkerLines() => File.Exists(Marker) ? File.ReadAllLines(Marker) : [];

    [Fact]
    public async Task A_job_running_when_the_process_is_killed_runs_again_after_restart()
    {
        var (first, url) = StartCdp(jobSeconds: 60);
        var client = await Ready(url, first);
        var trigger = await client.PostAsync("/api/scheduling/recurring/sleepy/trigger", null);
        trigger.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var jobId = JsonDocument.Parse(await trigger.Content.ReadAsStringAsync()).RootElement.GetProperty("jobId").GetString();
        await Eventually.Until(() => MarkerLines().Contains($"started {jobId} {first.Id}"), "the job to start in the first process");

        first.Kill(); // SIGKILL on Unix: no shutdown, no requeue, the job's lease is left to lapse
        await first.WaitForExitAsync();

        var (second, url2) = StartCdp(jobSeconds: 0.2);
        await Ready(url2, second);
        await Eventually.Until(() => MarkerLines().Contains($"finished {jobId} {second.Id}"), "the job to run again and finish in the second process",
            seconds: 60, explain: () => string.Join(" / ", MarkerLines()));
        MarkerLines().Should().NotContain($"finished {jobId} {first.Id}");
        MarkerLines().Count(l => l.StartsWith($"started {jobId} ")).Should().Be(2, "it ran once per process, never twice at once");
    }

    [Fact]
    public async Task Cdp_refuses_to_start_with_an_unknown_job_kind_and_names_the_key()
    {
        var (process, _) = StartCdp(1, "--Cdp:Scheduling:RecurringJobs:sweep:Kind=no-such-kind", "--Cdp:Scheduling:RecurringJobs:sweep:Cron=* * * * *");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        process.ExitCode.Should().Be(2);
        var stderr = _stderr[process.Id];
        lock (stderr) stderr.ToString().Should().Contain("Cdp:Scheduling:RecurringJobs:sweep:Kind: unknown job kind 'no-such-kind'");
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Cdp.Bench;

/// <summary>
/// Cdp.Host as a real OS process (<c>dotnet Cdp.Host.dll</c>, as Cdp.Tests' CdpProcess starts it) on a free loopback port,
/// for the figures that need several hosts or a SIGKILL. The bench references Cdp.Host, so Cdp.Host.dll and its
/// runtimeconfig sit beside the bench's own dll. Settings are command-line overrides of appsettings.json.
/// </summary>
internal sealed class HostProcess : IDisposable
{
    public const string AdminKey = "bench-admin-key-0123456789abcdef";

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    private HostProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Admin = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
    }

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "Cdp.Host.dll");

    public static bool Available => File.Exists(Dll);

    public Uri BaseAddress { get; }

    /// <summary>A client with the admin key (Authorization: Bearer).</summary>
    public HttpClient Admin { get; }

    public int Pid => _process.Id;

    public bool Alive => !_disposed && !_process.HasExited;

    /// <summary>Seconds from the process's start to its first healthy /health/ready.</summary>
    public double StartSeconds { get; private set; }

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>CPU time the process used so far (user + system).</summary>
    public TimeSpan Cpu
    {
        get
        {
            try { return _disposed || _process.HasExited ? TimeSpan.Zero : _process.TotalProcessorTime; }
            catch (InvalidOperationException) { return TimeSpan.Zero; }
        }
    }

    /// <summary>Starts a host whose data folder (and working folder) is <paramref name="folder"/> and waits until it is ready.</summary>
    public static async Task<HostProcess> StartAsync(string folder, IEnumerable<string> settings)
    {
        Directory.CreateDirectory(folder);
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = folder,
        };
        info.ArgumentList.Add(Dll);
        foreach (var a in new[]
                 {
                     $"--urls=http://127.0.0.1:{port}",
                     "--Logging:Console:FormatterName=simple",
                     "--Logging:LogLevel:Default=Warning",
                     $"--Cdp:Storage:Path={Path.Combine(folder, "cdp.db")}",
                     $"--Cdp:Sources:bench:WriteKey={IngestBench.WriteKey}",
                     $"--Cdp:Admin:ApiKeys:bench:Key={AdminKey}",
                     "--Cdp:Collection:QueueCapacity=1000000",
                 }.Concat(settings))
            info.ArgumentList.Add(a);
        var started = Stopwatch.StartNew();
        var host = new HostProcess(Process.Start(info)!, new Uri($"http://127.0.0.1:{port}"));
        try
        {
            await host.WaitUntilReadyAsync(TimeSpan.FromSeconds(120));
        }
        catch
        {
            host.Dispose();
            throw;
        }
        host.StartSeconds = started.Elapsed.TotalSeconds;
        return host;
    }

    /// <summary>GET /api/profiles/processor.</summary>
    public async Task<ProcessorState> StatusAsync(CancellationToken ct = default)
    {
        var s = await Admin.GetFromJsonAsync<JsonElement>("/api/profiles/processor", ct);
        return new ProcessorState(s.GetProperty("leading").GetBoolean(), s.GetProperty("checkpoint").GetInt64(), s.GetProperty("logHead").GetInt64(),
            s.TryGetProperty("leader", out var leader) && leader.ValueKind == JsonValueKind.String ? leader.GetString() : null);
    }

    /// <summary>POST /api/profiles/processor/pause (on the leader: a follower answers 503).</summary>
    public async Task PauseProcessorAsync()
    {
        using var response = await Admin.PostAsync("/api/profiles/processor/pause", null);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"pause answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushes; the leader's advisory-lock connection simply ends.</summary>
    public void Kill()
    {
        if (_disposed || _process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"Cdp.Host exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var response = await client.GetAsync("/health/ready");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(50);
        }
        throw new TimeoutException($"Cdp.Host was not ready within {timeout}:\n{Output}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (_disposed) return;
        Kill();
        _disposed = true;
        Admin.Dispose();
        _process.Dispose();
    }
}

/// <summary>What GET /api/profiles/processor says: whether this host leads, its checkpoint and the log head.</summary>
internal sealed record ProcessorState(bool Leading, long Checkpoint, long LogHead, string? Leader)
{
    public long Lag => Math.Max(0, LogHead - Checkpoint);
}

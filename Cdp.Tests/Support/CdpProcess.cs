using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Cdp.Tests.Support;

/// <summary>
/// Cdp.Host started as a real OS process (dotnet Cdp.Host.dll) on a free loopback port, for tests that
/// kill it with SIGKILL. Settings are passed as command-line overrides of appsettings.json.
/// </summary>
public sealed class CdpProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private CdpProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    /// <summary>Cdp.Host.dll in the test output (the Exe project is referenced, so its runtimeconfig sits beside it).</summary>
    public static string HostDll => Path.Combine(AppContext.BaseDirectory, "Cdp.Host.dll");

    public string Output { get { lock (_output) return _output.ToString(); } }

    public bool HasExited => _process.HasExited;

    public int Pid => _process.Id;

    /// <param name="environment">Extra environment variables of the process, e.g. Cdp__Admin__ApiKeys__ops__Key.</param>
    public static async Task<CdpProcess> StartAsync(string dataFolder, IDictionary<string, string>? settings = null, IDictionary<string, string>? environment = null)
    {
        var port = FreePort();
        var dll = HostDll;
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataFolder,
        };
        info.ArgumentList.Add(dll);
        if (environment is not null) foreach (var (k, v) in environment) info.Environment[k] = v;
        var all = new Dictionary<string, string>
        {
            ["urls"] = $"http://127.0.0.1:{port}",
            ["Logging:Console:FormatterName"] = "simple",
            ["Cdp:Storage:Path"] = Path.Combine(dataFolder, "cdp.db"),
            ["Cdp:Sources:web:WriteKey"] = CdpHost.WriteKey,
            ["Cdp:Admin:ApiKeys:ops:Key"] = CdpHost.AdminKey,
        };
        // "{port}" in a setting's value is this process's port (e.g. Cdp:Storage:HostUrl = http://127.0.0.1:{port})
        if (settings is not null) foreach (var (k, v) in settings) all[k] = v.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        foreach (var (k, v) in all) info.ArgumentList.Add($"--{k}={v}");
        var process = new CdpProcess(Process.Start(info)!, new Uri($"http://127.0.0.1:{port}"));
        await process.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
        return process;
    }

    /// <summary>Runs Cdp.Host with <paramref name="args"/> (a verb and/or settings) and waits for it to exit.</summary>
    public static Task<(int ExitCode, string Output)> RunToExitAsync(string workingFolder, params string[] args) =>
        RunToExitAsync(workingFolder, null, args);

    public static async Task<(int ExitCode, string Output)> RunToExitAsync(string workingFolder, IDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingFolder,
        };
        info.ArgumentList.Add(HostDll);
        if (environment is not null) foreach (var (k, v) in environment) info.Environment[k] = v;
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    public HttpClient TrackingClient(string writeKey = CdpHost.WriteKey)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));
        return client;
    }

    public HttpClient AdminClient()
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", CdpHost.AdminKey);
        return client;
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushes.</summary>
    public void Kill()
    {
        if (_process.HasExited) return;
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
                if ((await client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"Cdp.Host was not ready within {timeout}:\n{Output}");
    }

    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}

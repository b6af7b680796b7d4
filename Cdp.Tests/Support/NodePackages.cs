using System.Diagnostics;

namespace Cdp.Tests.Support;

/// <summary>
/// Cdp.Tests/Node: the real SDKs pinned in its package.json / package-lock.json, installed by `npm ci` there
/// (.ci/run and `./build.ps1 test` do it), and the scripts that drive them.
/// </summary>
public static class NodePackages
{
    public static string Folder { get; } = FindFolder();

    private static string FindFolder()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Cdp.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("Cdp.sln not found above the test folder"), "Cdp.Tests", "Node");
    }

    /// <summary>Fails the test with the command to run when a pinned package is not installed.</summary>
    public static void Require(string package) =>
        File.Exists(Path.Combine(Folder, "node_modules", package, "package.json")).Should()
            .BeTrue($"{package} is pinned in Cdp.Tests/Node: run `npm ci --prefix Cdp.Tests/Node` first (.ci/run and `./build.ps1 test` do)");

    /// <summary>Runs `node script args...` in Cdp.Tests/Node; returns its exit code, standard output and error.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string script, params string[] args)
    {
        var info = new ProcessStartInfo("node") { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(script);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await stdout, await stderr);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Cdp.Tests.Support;

/// <summary>
/// A PostgreSQL server for the tests of the PostgreSQL provider, and a fresh empty database per test
/// (<see cref="CreateDatabaseAsync"/>). Where it comes from, in order:
/// <list type="number">
/// <item><c>CDP_TEST_POSTGRES</c>: an admin connection string of an existing server (a role that may CREATE DATABASE);
/// the tests create their databases there and leave the server as it is.</item>
/// <item>A throwaway cluster of this test run, started on first use: <c>initdb --auth=trust</c> in a folder under the temp
/// dir, listening on loopback on a free port and on a unix socket in that folder, fsync on (the tests test durability).
/// It is stopped (<c>pg_ctl stop -m immediate</c>) and its folder deleted when the test process exits; clusters left by a
/// test process that was killed are removed by the next run. initdb and postgres refuse to run as root: as root they run
/// as the <c>postgres</c> system user (Debian's postgresql package creates it), otherwise as the current user.</item>
/// </list>
/// The binaries are found through <c>pg_config --bindir</c>, else in /usr/lib/postgresql/&lt;version&gt;/bin (newest first).
/// Where there are none, the test is skipped saying why; under CI (<c>CI=true</c>) it fails instead, saying what to install.
/// Tests using it are <c>[SkippableFact]</c>.
/// </summary>
public static class PostgresServer
{
    public const string Variable = "CDP_TEST_POSTGRES";

    /// <summary>The superuser initdb creates in the throwaway cluster (trust authentication: no password).</summary>
    public const string AdminRole = "cdp_admin";

    private const string FolderPrefix = "cdp-test-pg-";
    private const string OwnerFile = "owner.pid";

    private static readonly Lazy<Task<Server>> Started = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The admin connection string (to the <c>postgres</c> database); skips or fails the test as described above.</summary>
    public static async Task<string> AdminConnectionStringAsync() => (await Get()).Admin;

    /// <summary>The unix socket folder of the throwaway cluster; null when the tests use <c>CDP_TEST_POSTGRES</c>.</summary>
    public static async Task<string?> SocketFolderAsync() => (await Get()).SocketFolder;

    /// <summary>
    /// A new, empty database with a unique name (cdp_test_&lt;guid&gt;) on the server; returns its connection string (the
    /// admin role, over loopback TCP for the throwaway cluster). Nobody drops it: the cluster goes with the test run.
    /// </summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var server = await Get();
        var name = "cdp_test_" + Guid.NewGuid().ToString("N");
        await using (var admin = new NpgsqlConnection(server.Admin))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin);
            await create.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(server.Admin) { Database = name }.ConnectionString;
    }

    private static async Task<Server> Get()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } given) return new Server(given, null);
        if (FindBinaries() is null)
            throw MissingBinaries(string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase));
        return await Started.Value;
    }

    /// <summary>What a test gets without PostgreSQL's binaries: a skip saying what to install, or under CI a failure saying so.</summary>
    internal static Exception MissingBinaries(bool ci)
    {
        const string what = "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found through pg_config --bindir or in " +
            "/usr/lib/postgresql/<version>/bin: install Debian's postgresql package (apt-get install postgresql; .ci/run does), " +
            "or set " + Variable + " to an admin connection string of a PostgreSQL server";
        return ci ? new InvalidOperationException("CI=true and " + what) : new SkipException(what);
    }

    /// <summary>The folder with initdb, pg_ctl and postgres, or null.</summary>
    internal static string? FindBinaries()
    {
        static bool Complete(string? dir) => dir is not null && new[] { "initdb", "pg_ctl", "postgres" }.All(f => File.Exists(Path.Combine(dir, f)));
        string? fromPgConfig = null;
        try
        {
            var (code, output) = Run("pg_config", ["--bindir"]);
            if (code == 0) fromPgConfig = output.Trim();
        }
        catch (System.ComponentModel.Win32Exception) { } // no pg_config on the PATH
        if (Complete(fromPgConfig)) return fromPgConfig;
        const string debian = "/usr/lib/postgresql";
        if (!Directory.Exists(debian)) return null;
        return Directory.GetDirectories(debian)
            .Select(d => (Dir: Path.Combine(d, "bin"), Version: decimal.TryParse(Path.GetFileName(d), System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0))
            .OrderByDescending(d => d.Version)
            .Select(d => d.Dir)
            .FirstOrDefault(Complete);
    }

    private static Task<Server> StartAsync() => Task.Run(() =>
    {
        var bin = FindBinaries()!;
        RemoveClustersOfDeadTestRuns();
        var asUser = Environment.UserName == "root" ? "postgres" : null;
        var folder = Path.Combine(Path.GetTempPath(), FolderPrefix + Guid.NewGuid().ToString("N")[..12]); // short: a unix socket path has ~100 bytes
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, OwnerFile), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var data = Path.Combine(folder, "data");
        var log = Path.Combine(folder, "server.log");
        if (asUser is not null)
        {
            var (code, output) = Run("chown", [asUser, folder]);
            if (code != 0) throw new InvalidOperationException($"chown {asUser} {folder} failed (does the '{asUser}' system user exist? Debian's postgresql package creates it): {output}");
        }

        var (initCode, initOutput) = Run(Path.Combine(bin, "initdb"), ["-D", data, "--auth=trust", "-U", AdminRole, "-E", "UTF8", "--no-sync", "--no-instructions"], asUser);
        if (initCode != 0) throw new InvalidOperationException($"initdb failed ({initCode}):\n{initOutput}");
        File.AppendAllLines(Path.Combine(data, "postgresql.conf"),
        [
            "# cdp tests: loopback and a socket in the cluster's folder only, durable commits as in production, small memory",
            "listen_addresses = '127.0.0.1'",
            $"unix_socket_directories = '{folder}'",
            "fsync = on",
            "synchronous_commit = on",
            "shared_buffers = 32MB",
            "max_connections = 300", // tests run in parallel, each database with its own pool
        ]);

        var clock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var (code, output) = Run(Path.Combine(bin, "pg_ctl"), ["-D", data, "-l", log, "-w", "-t", "60", "-o", $"-p {port}", "start"], asUser);
            if (code == 0)
            {
                StartupTime = clock.Elapsed;
                AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop(data, folder);
                var admin = new NpgsqlConnectionStringBuilder
                {
                    Host = "127.0.0.1", Port = port, Username = AdminRole, Database = "postgres",
                }.ConnectionString;
                return new Server(admin, folder);
            }
            if (attempt == 3)
                throw new InvalidOperationException($"pg_ctl start failed ({code}):\n{output}\n{(File.Exists(log) ? File.ReadAllText(log) : "")}");
            // the free port may have been taken between the probe and the start: another port
        }
    });

    /// <summary>How long pg_ctl start took in this run (initdb not included); null before the cluster started.</summary>
    public static TimeSpan? StartupTime { get; private set; }

    /// <summary>
    /// <c>pg_ctl stop -m immediate</c>, done the quick way: SIGQUIT to the postmaster (what pg_ctl sends for an immediate
    /// stop), then the folder goes (rm -rf, not waited for). The test host is ended soon after its last test, so there is no
    /// time to wait for pg_ctl; a cluster left behind anyway is removed by the next run (<see cref="RemoveClustersOfDeadTestRuns"/>).
    /// </summary>
    private static void Stop(string data, string folder)
    {
        try
        {
            if (int.TryParse(File.ReadLines(Path.Combine(data, "postmaster.pid")).First(), out var postmaster)) _ = Kill(postmaster, SigQuit);
        }
        catch (Exception) { }
        try
        {
            // rm in a process of its own: it goes on when the test host is ended part-way through (a delete from here was cut short)
            var rm = new ProcessStartInfo("rm") { UseShellExecute = false, ArgumentList = { "-rf", "--", folder } };
            Process.Start(rm)?.Dispose();
        }
        catch (Exception)
        {
            try { Directory.Delete(folder, recursive: true); } catch (Exception) { }
        }
    }

    private const int SigQuit = 3;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>A killed test process leaves its cluster running: stop and delete those whose owner process is gone.</summary>
    private static void RemoveClustersOfDeadTestRuns()
    {
        foreach (var folder in Directory.GetDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            try
            {
                if (!int.TryParse(File.ReadAllText(Path.Combine(folder, OwnerFile)), out var owner)) continue;
                if (Alive(owner)) continue;
                var data = Path.Combine(folder, "data");
                if (File.Exists(Path.Combine(data, "postmaster.pid")) && FindBinaries() is { } bin)
                    Run(Path.Combine(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], Environment.UserName == "root" ? "postgres" : null);
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception) { } // another run's leftovers are never this run's failure
        }
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static (int Code, string Output) Run(string file, IReadOnlyList<string> args, string? asUser = null)
    {
        var info = new ProcessStartInfo(asUser is null ? file : "runuser")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(), // readable by the postgres user too
        };
        if (asUser is not null) foreach (var a in new[] { "-u", asUser, "--", file }) info.ArgumentList.Add(a);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} did not finish within 120 s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private sealed record Server(string Admin, string? SocketFolder);
}

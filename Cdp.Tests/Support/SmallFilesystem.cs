using System.Diagnostics;

namespace Cdp.Tests.Support;

/// <summary>
/// A small filesystem of its own for disk-full tests, that a test can fill and free. Where it comes from, in order:
/// <list type="number">
/// <item>CDP_TEST_SMALL_FS: a directory on a small filesystem mounted beforehand (by whoever runs the tests, e.g.
/// <c>mount -t tmpfs -o size=32m,mode=1777 cdp-test /mnt/cdp-small</c>); each test works in a fresh folder inside it.</item>
/// <item>A tmpfs the test mounts itself on Linux: directly as root, else through <c>sudo -n</c> (no password prompt).
/// .ci/run runs as root or with passwordless sudo, so CI runs these tests.</item>
/// </list>
/// Otherwise the test is skipped, saying why (<see cref="TryCreate"/> returns null and the reason).
/// </summary>
public sealed class SmallFilesystem : IDisposable
{
    public const string Variable = "CDP_TEST_SMALL_FS";

    private readonly string? _mountPoint;
    private readonly bool _sudo;
    private string? _filler;

    private SmallFilesystem(string path, string? mountPoint, bool sudo)
    {
        Path = path;
        _mountPoint = mountPoint;
        _sudo = sudo;
    }

    /// <summary>A folder on the small filesystem, empty.</summary>
    public string Path { get; }

    public static SmallFilesystem? TryCreate(int megabytes, out string whyNot)
    {
        whyNot = "";
        var given = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrEmpty(given))
        {
            var folder = System.IO.Path.Combine(given, "cdp-test-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            return new SmallFilesystem(folder, null, false);
        }
        if (!OperatingSystem.IsLinux())
        {
            whyNot = $"needs a small filesystem: set {Variable} to a folder on one, or run on Linux as root or with passwordless sudo";
            return null;
        }
        var mountPoint = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cdp-small-fs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mountPoint);
        var root = Environment.UserName == "root";
        var (code, output) = Run(root ? "mount" : "sudo", [.. (root ? Array.Empty<string>() : ["-n", "mount"]),
            "-t", "tmpfs", "-o", $"size={megabytes}m,mode=1777", "cdp-test", mountPoint]);
        if (code != 0)
        {
            Directory.Delete(mountPoint);
            whyNot = $"could not mount a {megabytes} MB tmpfs ({(root ? "mount" : "sudo -n mount")}: {output.Trim()}); " +
                $"run as root, with passwordless sudo, or set {Variable} to a folder on a small filesystem";
            return null;
        }
        return new SmallFilesystem(mountPoint, mountPoint, !root);
    }

    /// <summary>Writes a filler file until the filesystem refuses (ENOSPC); returns its size.</summary>
    public long Fill()
    {
        _filler ??= System.IO.Path.Combine(Path, "filler-" + Guid.NewGuid().ToString("N"));
        var chunk = new byte[64 * 1024];
        using var file = new FileStream(_filler, FileMode.Append, FileAccess.Write, FileShare.None, bufferSize: 1);
        var size = chunk.Length;
        while (true)
        {
            try
            {
                file.Write(chunk, 0, size);
            }
            catch (IOException)
            {
                if (size == 1) return file.Length;
                size = Math.Max(1, size / 2); // fill the last blocks too
            }
        }
    }

    /// <summary>Deletes the filler file.</summary>
    public void Free()
    {
        if (_filler is not null) File.Delete(_filler);
        _filler = null;
    }

    public void Dispose()
    {
        if (_mountPoint is null)
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
            return;
        }
        // lazy: a process of the test may still hold a file there for a moment
        Run(_sudo ? "sudo" : "umount", [.. (_sudo ? new[] { "-n", "umount" } : []), "-l", _mountPoint]);
        try { Directory.Delete(_mountPoint); } catch (IOException) { }
    }

    private static (int Code, string Output) Run(string file, string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(info)!;
            var output = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(30_000)) return (-1, "timed out");
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message); // no sudo / mount on this machine
        }
    }
}

using System.Runtime.InteropServices;

namespace Cdp.Modules.Shared.Http;

/// <summary>The process's soft limit of open file descriptors (RLIMIT_NOFILE, systemd's LimitNOFILE), on Linux.</summary>
public static partial class FileDescriptorLimit
{
    /// <summary>Descriptors kept apart from connections: database files, logs, the runtime, outgoing connections.</summary>
    public const long Reserve = 1_024;

    private const int RlimitNofile = 7; // Linux

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    /// <summary>The soft limit, or null where unknown (not Linux, or unlimited).</summary>
    public static long? Soft()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            if (GetRLimit(RlimitNofile, out var limit) != 0 || limit.Current > long.MaxValue) return null;
            return (long)limit.Current;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }
}

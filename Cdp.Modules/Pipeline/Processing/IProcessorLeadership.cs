namespace Cdp.Modules.Pipeline.Processing;

/// <summary>
/// Which host runs the profile processor. One host per database (LiteDB, or PostgreSQL with Cdp:Storage:Hosts = One):
/// it always leads. Several hosts on PostgreSQL: the one holding the processor's advisory lock leads; the others wait
/// and take over within seconds of its death. A leader that loses its lock stops processing; the checkpoint's
/// compare-and-set (<see cref="IProcessorStore.WriteCheckpoint"/>) fences a leader that has not noticed yet.
/// </summary>
internal interface IProcessorLeadership
{
    /// <summary>This host's name as the others see it ("machine pid 123").</summary>
    string Host { get; }

    /// <summary>
    /// Blocks until this host leads (at once with one host per database), calling <paramref name="waiting"/> about once a
    /// second meanwhile; false when <paramref name="stop"/> is cancelled first.
    /// </summary>
    bool WaitToLead(CancellationToken stop, Action waiting);

    /// <summary>Another host may take the lead (several hosts on one database): the leader checks <see cref="Leading"/> each second.</summary>
    bool Shared { get; }

    /// <summary>Whether this host still leads (checked against the database at most once a second).</summary>
    bool Leading { get; }

    /// <summary>Gives the lead up (a leader that found the checkpoint moved, or is stopping).</summary>
    void StepDown();

    /// <summary>The leading host's name, when known.</summary>
    string? Leader();

    /// <summary>The URL another host reaches the leading host at (its Cdp:Storage:HostUrl), when it set one; null otherwise.</summary>
    string? LeaderAddress() => null;
}

/// <summary>One host per database: it leads, always.</summary>
internal sealed class SingleHostLeadership : IProcessorLeadership
{
    public string Host { get; } = ProcessorHosts.ThisHost;

    public bool WaitToLead(CancellationToken stop, Action waiting) => !stop.IsCancellationRequested;

    public bool Shared => false;

    public bool Leading => true;

    public void StepDown() { }

    public string? Leader() => Host;
}

internal static class ProcessorHosts
{
    public static readonly string ThisHost = $"{Environment.MachineName} pid {Environment.ProcessId}";
}

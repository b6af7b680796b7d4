namespace Cdp.Modules.Pipeline.Contracts;

/// <summary>
/// A command for the profile processor (unmerge, erasure, link, pause...) cannot run: its thread is dead (its state
/// could not be loaded, or an error escaped its loop) or the host is stopping. Thrown at once, never after a wait.
/// </summary>
public sealed class ProcessorUnavailableException(string message) : InvalidOperationException(message);

/// <summary>Process exit codes of the profile processor (see README, Operations).</summary>
public static class ProfileProcessorExit
{
    /// <summary>
    /// The processor's thread died and could not recover (loading its state failed every attempt, or an error escaped
    /// its loop): the host stops with this code so that the service manager restarts it. Storage's own is 4.
    /// </summary>
    public const int ProcessorDead = 5;
}

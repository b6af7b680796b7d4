namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// Hears that data another host changed (several hosts on one PostgreSQL, Cdp:Storage:Hosts = Several), so that what a
/// host keeps in memory (the suppression list, ...) is reloaded. A PostgreSQL store announces a change inside the
/// transaction that makes it (<c>PostgresChangeFeed.Announce</c>: delivered at its commit, never for a rollback). With
/// one host per database nothing else changes the data: no handler is ever called.
/// </summary>
public interface IChangeFeed
{
    /// <summary>
    /// Calls <paramref name="reload"/> on a background thread when <paramref name="topic"/> changed on any host (this one
    /// included), and whenever the feed may have missed a change (its connection was lost): reload from the store then.
    /// </summary>
    IDisposable On(string topic, Action reload);
}

/// <summary>One host per database: nothing changes behind this host's back.</summary>
internal sealed class NoChangeFeed : IChangeFeed
{
    public IDisposable On(string topic, Action reload) => Nothing.Instance;

    private sealed class Nothing : IDisposable
    {
        public static readonly Nothing Instance = new();

        public void Dispose() { }
    }
}

/// <summary>The topics hosts announce.</summary>
public static class ChangeTopics
{
    /// <summary>Suppressed identifiers were added or removed (Governance's privacy store).</summary>
    public const string Suppressions = "suppressions";

    /// <summary>Segment definitions were saved or deleted, or a build finished (Segments' store).</summary>
    public const string Segments = "segments";
}

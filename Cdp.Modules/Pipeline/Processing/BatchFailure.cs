namespace Cdp.Modules.Pipeline.Processing;

/// <summary>
/// Why a batch failed, as far as the processor can tell from the exception, before it decides what to do:
/// an <see cref="IsEnvironmental"/> failure (the disk, the file system, the database engine, a lock) says nothing about
/// the events, so the batch is retried as it is after a backoff; any other failure may come from an event, and the batch
/// is split until the events that fail alone are found (they are set aside, the others commit).
/// </summary>
internal static class BatchFailure
{
    /// <summary>
    /// The environment failed, not an event: I/O (disk full is an IOException, ENOSPC), file permissions, the database
    /// engine closed, a transaction left open on the thread by an earlier failed commit. Not ObjectDisposedException: LiteDB
    /// reports its own closing as ENGINE_DISPOSED, so a disposed object is a bug that an event can trigger. Out of memory is NOT
    /// here: one huge event can exhaust memory by itself; smaller batches need less memory, so splitting is also the cure
    /// when memory is short for everyone (see <see cref="IsOutOfMemory"/>).
    /// </summary>
    public static bool IsEnvironmental(Exception ex)
    {
        foreach (var e in Chain(ex))
        {
            switch (e)
            {
                case IOException or UnauthorizedAccessException:
                // LiteDB: the engine closed itself, a lock not obtained in time, the data file gone or over its size limit
                case var l when Shared.Storage.StorageFailure.IsEngineFailure(l):
                // CdpDatabase.InTransaction: a transaction that an earlier failed commit left open on this thread
                case InvalidOperationException i when i.Message.Contains("transaction is already open", StringComparison.OrdinalIgnoreCase):
                    return true;
                // PostgreSQL: the server, the connection, its disk or a lock (a data error is not one)
                case var p when Shared.Storage.PostgreSql.PostgresFailure.IsEnvironmental(p):
                    return true;
            }
        }
        return false;
    }

    public static bool IsOutOfMemory(Exception ex) => Chain(ex).Any(e => e is OutOfMemoryException);

    /// <summary>"IOException: No space left on device", the innermost environmental cause when there is one.</summary>
    public static string Describe(Exception ex)
    {
        var cause = Chain(ex).LastOrDefault(e => e is IOException or UnauthorizedAccessException || Shared.Storage.StorageFailure.IsLiteDbError(e)) ?? ex;
        return cause.GetType().Name + ": " + cause.Message;
    }

    /// <summary>The exception, its inner exceptions and an aggregate's, depth first (bounded: a cycle cannot loop).</summary>
    private static IEnumerable<Exception> Chain(Exception ex)
    {
        var stack = new Stack<Exception>([ex]);
        for (var seen = 0; stack.Count > 0 && seen < 64; seen++)
        {
            var e = stack.Pop();
            yield return e;
            if (e is AggregateException a) foreach (var inner in a.InnerExceptions.Reverse()) stack.Push(inner);
            else if (e.InnerException is { } inner) stack.Push(inner);
        }
    }
}

using LiteDB;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// A LiteDB file of Cdp (cdp.db, the jobs file) as backup and restore see it. <see cref="FilePath"/> comes from the
/// settings without opening anything; <see cref="CopyConsistentTo"/> uses the live database of this process.
/// </summary>
public interface IDatabaseFile
{
    /// <summary>Stable role name in a backup's manifest: "data", "jobs".</summary>
    string Name { get; }

    string FilePath { get; }

    /// <summary>Writes a consistent copy of the database (a data file without a log) to <paramref name="targetFile"/>; returns its size.</summary>
    long CopyConsistentTo(string targetFile);
}

/// <summary>Consistent copies of a live LiteDB file, and whether another process holds one.</summary>
public static class LiteDbFiles
{
    /// <summary>
    /// LiteDB 5 writes only to the -log.db file between checkpoints; the data file changes only inside a checkpoint, which
    /// needs LiteDB's exclusive lock, which waits for every open transaction. So: checkpoint (the data file now holds every
    /// commit), open a transaction (no checkpoint can start until it ends) and copy the data file. The copy is the state at the
    /// last checkpoint; commits landing in the log meanwhile are not in it. Runs on its own thread: LiteDB binds a transaction to it.
    /// </summary>
    public static long CopyConsistent(LiteDatabase database, string dataFile, string targetFile) =>
        CopyConsistent(database, () => database.Checkpoint(), dataFile, targetFile);

    /// <inheritdoc cref="CopyConsistent(LiteDatabase, string, string)"/>
    /// <param name="checkpoint">Checkpoints <paramref name="database"/> (cdp.db's goes through its write gate).</param>
    public static long CopyConsistent(LiteDatabase database, Action checkpoint, string dataFile, string targetFile)
    {
        checkpoint();
        long size = 0;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                database.BeginTrans();
                try
                {
                    var temp = targetFile + ".partial";
                    using (var source = new FileStream(dataFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                    using (var target = new FileStream(temp, PrivateFiles.Create())) // a copy of everyone's data: 0600
                    {
                        source.CopyTo(target, 1 << 20);
                        target.Flush(flushToDisk: true);
                        size = target.Length;
                    }
                    File.Move(temp, targetFile, overwrite: true);
                }
                finally
                {
                    database.Rollback();
                }
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        }) { Name = "cdp-backup-copy", IsBackground = true };
        thread.Start();
        thread.Join();
        if (failure is not null) throw new IOException($"could not copy {dataFile}: {failure.Message}", failure);
        return size;
    }

    /// <summary>
    /// True when another process has the file open through LiteDB (its streams take a shared flock; this asks for an
    /// exclusive one without waiting). False when the file does not exist.
    /// </summary>
    public static bool IsInUse(string path)
    {
        if (!File.Exists(path)) return false;
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>LiteDB's write-ahead log beside a data file: cdp.db → cdp-log.db.</summary>
    public static string LogFileOf(string dataFile) =>
        Path.Combine(Path.GetDirectoryName(dataFile) ?? ".", Path.GetFileNameWithoutExtension(dataFile) + "-log" + Path.GetExtension(dataFile));
}

using System.Runtime.InteropServices;
using LiteDB;
using LiteDB.Engine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// The one LiteDB handle of the process (direct file access, opened once; the process holds cdp.db.lock meanwhile, see
/// <see cref="DatabaseFileLock"/>). LiteDB binds transactions to the calling thread: never await between BeginTrans and
/// Commit, and materialise query results before awaiting. Every write runs inside <see cref="InTransaction{T}"/>: the
/// engine refuses writes from a thread that does not hold the write gate (<see cref="GatedEngine"/>).
/// </summary>
public sealed partial class CdpDatabase : IDisposable
{
    private readonly ILogger<CdpDatabase> _log;
    private readonly bool _durable;
    private readonly string _logFilePath;
    private SafeHandle? _logFileHandle;
    private readonly DatabaseFileLock _fileLock;

    public CdpDatabase(IOptions<StorageOptions> options, ILogger<CdpDatabase> log)
    {
        _log = log;
        var o = options.Value;
        FilePath = System.IO.Path.GetFullPath(o.Path);
        var dir = System.IO.Path.GetDirectoryName(FilePath);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        _durable = o.DurableCommits;
        _logFilePath = System.IO.Path.Combine(dir ?? ".",
            System.IO.Path.GetFileNameWithoutExtension(FilePath) + "-log" + System.IO.Path.GetExtension(FilePath));

        _fileLock = DatabaseFileLock.Acquire(FilePath); // before LiteDB touches the file: a second process stops here
        try
        {
            // A private mapper: BsonMapper.Global has a first-use race under concurrency.
            Mapper = new BsonMapper();
            // The same engine LiteDatabase builds for Connection=direct, one caller at a time (SerialEngine: LiteDB's page
            // cache is not thread-safe), under the write gate's guard.
            Database = new LiteDatabase(new GatedEngine(new SerialEngine(new LiteEngine(new EngineSettings { Filename = FilePath })), _writeGate), Mapper);
            lock (_writeGate) Database.CheckpointSize = o.CheckpointPages;
        }
        catch
        {
            Database?.Dispose();
            _fileLock.Dispose();
            throw;
        }
        _log.LogInformation("LiteDB opened at {Path} (durable commits: {Durable})", FilePath, _durable);
    }

    public string FilePath { get; }

    /// <summary>fsyncs of the log file done for durable commits since start.</summary>
    public long DurableFlushes => Interlocked.Read(ref _durableFlushes);

    private long _durableFlushes;

    public LiteDatabase Database { get; }

    public BsonMapper Mapper { get; }

    public ILiteCollection<BsonDocument> Collection(string name) => Database.GetCollection(name, BsonAutoId.Int64);

    /// <summary>Documents of <paramref name="collection"/> matching <paramref name="predicate"/>, one engine call each (see <see cref="DocumentScan"/>).</summary>
    public IEnumerable<BsonDocument> Scan(string collection, BsonExpression predicate) => Database.Scan(collection, predicate);

    /// <summary>
    /// One explicit transaction at a time, whatever collections it writes. LiteDB 5 lets transactions on DIFFERENT
    /// collections run at once, and that corrupts the shared free-page list in the header page (LiteDB issue #2825,
    /// still open in 5.0.21: "Page type must be data page", "empty page must be defined as empty type"); seen here in a
    /// 4-minute soak with the log writer and the processor committing side by side. Reads do not take this gate. Every write of the process holds it: <see cref="GatedEngine"/>
    /// refuses the others (auto-transactions included, e.g. a collection's Insert outside InTransaction).
    /// </summary>
    private readonly Lock _writeGate = new();

    /// <summary>
    /// Runs <paramref name="work"/> in one LiteDB transaction on the calling thread and commits it (one transaction at a
    /// time, see <see cref="_writeGate"/>), then, when durable commits are on, fsyncs the log file before returning.
    /// </summary>
    public T InTransaction<T>(Func<LiteDatabase, T> work)
    {
        T result;
        lock (_writeGate)
        {
            if (!Database.BeginTrans()) throw new InvalidOperationException("A LiteDB transaction is already open on this thread.");
            try
            {
                result = work(Database);
                Database.Commit();
            }
            catch
            {
                Database.Rollback();
                throw;
            }
        }
        FlushLogIfDurable(); // outside the gate: commits of other threads go on during the fsync
        return result;
    }

    public void InTransaction(Action<LiteDatabase> work) => InTransaction(db => { work(db); return 0; });

    /// <summary>fsync of LiteDB's -log.db: LiteDB writes it with write(2) but never fsyncs it (LiteDB issue #2818).</summary>
    public void FlushLogIfDurable()
    {
        if (!_durable) return;
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // see README: durable commits need a POSIX fsync
        if (_logFileHandle is null)
        {
            if (!File.Exists(_logFilePath)) return;
            _logFileHandle = File.OpenHandle(_logFilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        if (Fsync((int)_logFileHandle.DangerousGetHandle()) != 0)
            throw new IOException($"fsync of {_logFilePath} failed with errno {Marshal.GetLastPInvokeError()}");
        Interlocked.Increment(ref _durableFlushes);
    }

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    /// <summary>
    /// A checkpoint waits for a running backup copy BEFORE it takes the write gate: LiteDB's checkpoint waits for every open
    /// transaction, the copy's included, and would hold the gate, so every commit, meanwhile (measured: ingest stood still
    /// ~1.9 s of a 3.2 s copy of a 263 MB file). One copy or checkpoint at a time.
    /// </summary>
    private readonly Lock _copyOrCheckpoint = new();

    /// <summary>LiteDB checkpoint (the -log.db file into the data file), under the write gate like every write.</summary>
    public void Checkpoint()
    {
        lock (_copyOrCheckpoint)
        lock (_writeGate)
            Database.Checkpoint();
    }

    /// <summary>A consistent copy of the data file (see <see cref="LiteDbFiles.CopyConsistent"/>); returns its size.</summary>
    public long CopyConsistentTo(string targetFile)
    {
        lock (_copyOrCheckpoint) return LiteDbFiles.CopyConsistent(Database, Checkpoint, FilePath, targetFile);
    }

    public void Dispose()
    {
        _logFileHandle?.Dispose();
        lock (_writeGate) Database.Dispose(); // closing checkpoints the log into the data file: a write like any other
        _fileLock.Dispose();
    }
}

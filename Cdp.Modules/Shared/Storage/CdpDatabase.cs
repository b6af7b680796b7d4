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
public sealed partial class CdpDatabase : IUnitOfWorkFactory, IDisposable
{
    private readonly ILogger<CdpDatabase> _log;
    private readonly bool _durable;
    private readonly string _logFilePath;
    private SafeHandle? _logFileHandle;
    private readonly DatabaseFileLock _fileLock;
    private readonly SerialEngine? _engine;

    /// <summary>The engine's reopenings when <see cref="_logFileHandle"/> was opened (a reopened LiteDB may recreate its log file).</summary>
    private int _logFileHandleReopenings;

    private readonly Lock _logFileHandleLock = new();

    public CdpDatabase(IOptions<StorageOptions> options, ILogger<CdpDatabase> log, StorageHealth? health = null)
    {
        _log = log;
        var o = options.Value;
        FilePath = System.IO.Path.GetFullPath(o.Path);
        var dir = System.IO.Path.GetDirectoryName(FilePath);
        if (!string.IsNullOrEmpty(dir)) PrivateFiles.CreateFolder(dir);
        _durable = o.DurableCommits;
        _logFilePath = System.IO.Path.Combine(dir ?? ".",
            System.IO.Path.GetFileNameWithoutExtension(FilePath) + "-log" + System.IO.Path.GetExtension(FilePath));

        _fileLock = DatabaseFileLock.Acquire(FilePath); // before LiteDB touches the file: a second process stops here
        PrivateFiles.Restrict(FilePath); // 0600 before LiteDB creates them with the default mode
        PrivateFiles.Restrict(_logFilePath);
        try
        {
            // A private mapper: BsonMapper.Global has a first-use race under concurrency.
            Mapper = new BsonMapper();
            // The same engine LiteDatabase builds for Connection=direct, one caller at a time (SerialEngine: LiteDB's page
            // cache is not thread-safe), under the write gate's guard.
            // SerialEngine reopens LiteDB's engine after a failed write (disk full), so that nothing of it stays behind.
            _engine = new SerialEngine(new EngineSettings { Filename = FilePath }, health);
            Database = new LiteDatabase(new GatedEngine(_engine, _writeGate), Mapper);
            // a pragma write rewrites the header page: only when it changes, so that Cdp starts on a full disk with its files in place
            lock (_writeGate)
                if (Database.CheckpointSize != o.CheckpointPages) Database.CheckpointSize = o.CheckpointPages;
        }
        catch (Exception ex)
        {
            Database?.Dispose();
            _fileLock.Dispose();
            if (StorageFailure.IsEnvironmental(ex)) throw new StorageUnavailableException(FilePath, ex);
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
            catch (Exception ex)
            {
                // never leaves the transaction behind on this thread: SerialEngine reopens the engine when LiteDB cannot roll
                // it back (a full disk), and a failed commit was rolled back there already (this then returns false)
                try
                {
                    Database.Rollback();
                }
                catch (Exception rollbackFailure)
                {
                    _log.LogError(rollbackFailure, "Rollback after a failed transaction on {Path} failed ({Failure})", FilePath, ex.Message);
                }
                throw;
            }
        }
        FlushLogIfDurable(); // outside the gate: commits of other threads go on during the fsync
        return result;
    }

    public void InTransaction(Action<LiteDatabase> work) => InTransaction(db => { work(db); return 0; });

    /// <summary>The same transaction as a provider-neutral unit of work, for work that crosses modules through their contracts.</summary>
    T IUnitOfWorkFactory.InTransaction<T>(Func<IUnitOfWork, T> work) => InTransaction(db => work(new LiteDb.LiteUnitOfWork(db)));

    /// <summary>fsync of LiteDB's -log.db: LiteDB writes it with write(2) but never fsyncs it (LiteDB issue #2818).</summary>
    public void FlushLogIfDurable()
    {
        if (!_durable) return;
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // see README: durable commits need a POSIX fsync
        SafeHandle? handle;
        lock (_logFileHandleLock)
        {
            if (_logFileHandle is not null && _engine is not null && _engine.Reopenings != _logFileHandleReopenings)
            {
                _logFileHandle.Dispose(); // LiteDB deletes an empty log when it closes: the handle may hold a file that is gone
                _logFileHandle = null;
            }
            if (_logFileHandle is null)
            {
                _logFileHandleReopenings = _engine?.Reopenings ?? 0;
                if (!File.Exists(_logFilePath)) return;
                _logFileHandle = File.OpenHandle(_logFilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            handle = _logFileHandle;
        }
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added); // a swap above by another thread closes the file only after this fsync
            if (Fsync((int)handle.DangerousGetHandle()) != 0)
                throw new IOException($"fsync of {_logFilePath} failed with errno {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
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

/// <summary>
/// A database file cannot be opened, created or written at start-up (disk full, no permission, I/O error): the host
/// stops with <see cref="ExitCode"/> and this message instead of a stack trace.
/// </summary>
public sealed class StorageUnavailableException(string path, Exception cause)
    : IOException($"cannot open {path}: {StorageFailure.Describe(cause)}", cause)
{
    /// <summary>Exit code of the host when its storage is unavailable at start (README, Operations).</summary>
    public const int ExitCode = 6;

    public string FilePath { get; } = path;
}

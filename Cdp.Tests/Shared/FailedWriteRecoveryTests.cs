using Cdp.Modules.Scheduling.Storage;
using Cdp.Modules.Shared.Storage;
using FluentAssertions;
using LiteDB;
using LiteDB.Engine;

namespace Cdp.Tests.Shared;

/// <summary>
/// A write that fails on a full disk leaves nothing behind: LiteDB 5.0.21 keeps a failed commit's transaction on its
/// thread (every later BeginTrans there returned false: "A LiteDB transaction is already open on this thread"), and
/// closes its engine after an I/O error in an auto-transaction. <see cref="SerialEngine"/> rolls back and reopens the
/// engine, so the next write on the same thread commits once there is room. LiteDB runs here on streams whose writes
/// fail like a full disk's (part of the page written, then ENOSPC); the full filesystem itself is in DiskFullTests.
/// </summary>
public sealed class FailedWriteRecoveryTests
{
    /// <summary>A stream that fails writes while <see cref="Full"/>, after writing the first half of the buffer (as write(2) does on ENOSPC).</summary>
    private sealed class DiskStream : Stream
    {
        private readonly MemoryStream _bytes = new();

        public volatile bool Full;

        public int FailedWrites;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => true;
        public override long Length => _bytes.Length;
        public override long Position { get => _bytes.Position; set => _bytes.Position = value; }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _bytes.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => _bytes.Seek(offset, origin);
        public override void SetLength(long value) => _bytes.SetLength(value);

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (Full)
            {
                FailedWrites++;
                _bytes.Write(buffer, offset, count / 2);
                throw new IOException("No space left on device : 'cdp-log.db'", 28);
            }
            _bytes.Write(buffer, offset, count);
        }
    }

    private sealed class Disk
    {
        public DiskStream Data { get; } = new();
        public DiskStream Log { get; } = new();

        public bool Full
        {
            set { Data.Full = value; Log.Full = value; }
        }

        public EngineSettings Settings() => new() { DataStream = Data, LogStream = Log };
    }

    private static BsonDocument Doc(int id) => new() { ["_id"] = id, ["v"] = new string('x', 300) };

    private static List<int> Ids(LiteDatabase db) => db.GetCollection("c").FindAll().Select(d => d["_id"].AsInt32).Order().ToList();

    [Fact]
    public void A_commit_that_fails_on_a_full_disk_leaves_no_transaction_and_the_next_one_on_the_same_thread_commits()
    {
        var disk = new Disk();
        var health = new StorageHealth();
        var engine = new SerialEngine(disk.Settings(), health);
        using var db = new LiteDatabase(engine);
        db.CheckpointSize = 0;
        db.BeginTrans().Should().BeTrue();
        db.GetCollection("c").Insert(Doc(1));
        db.Commit().Should().BeTrue();

        disk.Full = true;
        db.BeginTrans().Should().BeTrue();
        db.GetCollection("c").Insert(Enumerable.Range(2, 40).Select(Doc));
        var commit = () => db.Commit();
        commit.Should().Throw<IOException>().WithMessage("*No space left*");
        db.Rollback(); // what every caller does after a failure (CdpDatabase.InTransaction, the jobs write gate)
        disk.Log.FailedWrites.Should().BeGreaterThan(0, "the commit reached the disk");
        health.Writable.Should().BeFalse();
        health.Failing.Should().ContainSingle().Which.Reason.Should().StartWith("disk full");

        disk.Full = false;
        db.BeginTrans().Should().BeTrue("the failed commit's transaction is gone from this thread");
        db.GetCollection("c").Insert(Doc(100));
        db.Commit().Should().BeTrue();

        health.Writable.Should().BeTrue();
        engine.Reopenings.Should().Be(1);
        Ids(db).Should().Equal(1, 100);
        engine.Checkpoint(); // a page the failed write leaked would fail LiteDB's check here ("must have no pages in use")
        using var again = new LiteDatabase(new LiteEngine(disk.Settings()));
        Ids(again).Should().Equal([1, 100], "the files hold exactly the confirmed transactions");
    }

    [Fact]
    public void A_failed_commit_whose_rollback_cannot_write_either_still_leaves_no_transaction_behind()
    {
        var disk = new Disk();
        var engine = new SerialEngine(disk.Settings());
        using var db = new LiteDatabase(engine);
        db.CheckpointSize = 0;
        db.GetCollection("c").Insert(Doc(1));

        for (var attempt = 0; attempt < 3; attempt++)
        {
            disk.Full = true; // stays full for the rollback too: LiteDB writes the transaction's new pages back as free pages there
            db.BeginTrans().Should().BeTrue($"attempt {attempt} begins on a clean thread");
            db.GetCollection("c").Insert(Enumerable.Range(10 + attempt * 100, 60).Select(Doc));
            var commit = () => db.Commit();
            commit.Should().Throw<IOException>();
            db.Rollback().Should().BeFalse("the transaction is already gone");
        }

        disk.Full = false;
        db.BeginTrans().Should().BeTrue();
        db.GetCollection("c").Insert(Doc(2));
        db.Commit().Should().BeTrue();
        Ids(db).Should().Equal(1, 2);

        // the failed transactions of the closed engines must not be finalized: LiteDB's finalizer would repeat their failed
        // Dispose on the finalizer thread and end the process (DiskFullTests, on a real full disk, aborted the test host so
        // before SerialEngine suppressed it; on these streams the Dispose happens to succeed, so this is a guard only)
        for (var i = 0; i < 3; i++) // the thread's slot lets go of a transaction only once its ThreadLocal is finalized
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        engine.Reopenings.Should().Be(3);
    }

    [Fact]
    public void After_LiteDB_closed_its_engine_on_a_failed_write_the_next_call_runs_on_a_reopened_engine()
    {
        var disk = new Disk();
        var engine = new SerialEngine(disk.Settings());
        using var db = new LiteDatabase(engine);
        db.GetCollection("c").Insert(Doc(1));

        disk.Full = true;
        var insert = () => db.GetCollection("c").Insert(Doc(2)); // an auto-transaction: LiteDB closes its engine on the I/O error
        insert.Should().Throw<IOException>();

        disk.Full = false;
        db.GetCollection("c").Insert(Doc(3));
        Ids(db).Should().Equal(1, 3);
        engine.Reopenings.Should().Be(1);
    }

    [Fact]
    public void A_write_through_the_jobs_write_gate_that_fails_on_a_full_disk_fails_alone_and_the_next_write_commits()
    {
        var disk = new Disk();
        using var db = new LiteDatabase(new SerialEngine(disk.Settings()));
        using var gate = new WriteGate(db, "test-jobs-writer");
        gate.Write(d => d.GetCollection("c").Insert(Doc(1)));

        disk.Full = true;
        var write = () => gate.Write(d => d.GetCollection("c").Insert(Enumerable.Range(2, 30).Select(Doc)));
        write.Should().Throw<IOException>();

        disk.Full = false;
        gate.Write(d => d.GetCollection("c").Insert(Doc(50))); // on the gate's one thread: it held the failed transaction before
        Ids(db).Should().Equal(1, 50);
    }

    [Fact]
    public void A_failed_write_does_not_mark_the_storage_failing_when_it_is_the_data_that_is_wrong()
    {
        var disk = new Disk();
        var health = new StorageHealth();
        var engine = new SerialEngine(disk.Settings(), health);
        using var db = new LiteDatabase(engine);
        db.GetCollection("c").Insert(Doc(1));

        db.BeginTrans();
        var duplicate = () => db.GetCollection("c").Insert(Doc(1));
        duplicate.Should().Throw<LiteException>().Which.ErrorCode.Should().Be(LiteException.INDEX_DUPLICATE_KEY);
        db.Rollback();

        health.Writable.Should().BeTrue();
        health.WriteFailures.Should().Be(0);
        engine.Reopenings.Should().Be(0, "nothing failed on the disk: LiteDB's own rollback is enough");
        db.BeginTrans().Should().BeTrue();
        db.Commit();
    }
}

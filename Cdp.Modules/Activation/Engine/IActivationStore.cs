using Cdp.Modules.Activation.Contracts;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Activation.Engine;

/// <summary>
/// What activation keeps: each sync's member state (its checkpoint of what a destination has), the members that left a
/// sync after a destination had them (for erasure), small per-sync values a destination keeps (e.g. the Mailchimp static
/// segment id), the run history and the erasures owed at the vendors. LiteDb/LiteActivationStore and
/// PostgreSql/PostgresActivationStore keep it.
/// </summary>
internal interface IActivationStore
{
    /// <summary>A sync's member records by profile id.</summary>
    Dictionary<string, MemberRecord> Members(string sync);

    /// <summary>Members the destination has (acknowledged, not rejected), and rejected ones.</summary>
    (long Members, long Rejected) CountMembers(string sync);

    /// <summary>
    /// One transaction per acknowledged batch. A null record removes the member; one the destination had is remembered as
    /// departed (the vendor keeps the contact), for a later erasure.
    /// </summary>
    void Commit(string sync, IReadOnlyCollection<MemberCommit> commits);

    IEnumerable<(string Sync, MemberRecord Record)> FindMembers(IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds);

    IEnumerable<(string Sync, string Key)> FindDeparted(IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds);

    /// <summary>
    /// Privacy erasure in the caller's transaction: the person's current and departed records go; returns how many, and the
    /// addresses the destinations were sent (current members the destination had, and departed ones), by sync.
    /// </summary>
    (long Records, List<(string Sync, string Key)> Sent) EraseMembers(IUnitOfWork tx, IEnumerable<string> syncs, IReadOnlyCollection<string> profileIds);

    string? Remote(string sync, string name);

    void SetRemote(string sync, string name, string value);

    /// <summary>
    /// Runs still "running" that no live process is running become failed with <paramref name="reason"/> (called when the
    /// process starts). With one process per database that is every one; with several hosts on PostgreSQL, those whose
    /// sync's run lock (<see cref="TryHoldRun"/>) no host holds.
    /// </summary>
    void MarkInterruptedRuns(string reason);

    /// <summary>The runs of <paramref name="sync"/> still "running" become failed: the caller holds its run lock, so they are dead.</summary>
    void MarkInterruptedRuns(string sync, string reason);

    /// <summary>
    /// The lock that keeps the runs of one sync from overlapping across processes, held until disposed; null when another
    /// process holds it. With one process per database the engine's own gate is enough: always granted. On PostgreSQL a
    /// session advisory lock, so a host that dies releases it with its connection.
    /// </summary>
    IDisposable? TryHoldRun(string sync);

    /// <summary>Records a run that starts; returns its id (ascending with time).</summary>
    long StartRun(string sync, string trigger, bool full, DateTime at);

    /// <summary>Stores the finished run and keeps the newest <paramref name="keepPerSync"/> of its sync.</summary>
    void FinishRun(SyncRunReport report, int keepPerSync);

    SyncRunReport? Run(long id);

    /// <summary>The newest runs of a sync first.</summary>
    IReadOnlyList<SyncRunReport> LatestRuns(string sync, int limit);

    /// <summary>Every stored run, in the caller's transaction (a privacy erasure scrubs them).</summary>
    IReadOnlyList<SyncRunReport> AllRuns(IUnitOfWork tx);

    void ReplaceRun(IUnitOfWork tx, SyncRunReport report);

    /// <summary>In the deletion's transaction: the erasures owed at each destination.</summary>
    void StageErasure(IUnitOfWork tx, ErasureReceipt receipt);

    ErasureReceipt? Erasure(string receiptId);

    /// <summary>Receipts with a destination still owed.</summary>
    IReadOnlyList<string> OpenErasures();

    void SaveErasure(ErasureReceipt receipt);

    /// <summary>Every sync's member records (for storage copy).</summary>
    IEnumerable<(string Sync, string Profile, MemberRecord Record)> AllMembers();

    /// <summary>Every departed member (for storage copy).</summary>
    IEnumerable<(string Sync, string Profile, string Key)> AllDeparted();

    /// <summary>Every per-sync remote value (for storage copy).</summary>
    IEnumerable<(string Sync, string Name, string Value)> AllRemote();

    /// <summary>Every erasure receipt, open or done (for storage copy).</summary>
    IEnumerable<ErasureReceipt> AllErasures();

    /// <summary>Stores records as they are: members with their erased mark, departed members, remote values, runs under their own ids (later runs continue after them), receipts (for storage copy).</summary>
    void Import(ActivationImport records);
}

/// <summary>What <see cref="IActivationStore.Import"/> stores; any list may be empty.</summary>
internal sealed record ActivationImport(
    IReadOnlyList<(string Sync, string Profile, MemberRecord Record)> Members,
    IReadOnlyList<(string Sync, string Profile, string Key)> Departed,
    IReadOnlyList<(string Sync, string Name, string Value)> Remote,
    IReadOnlyList<SyncRunReport> Runs,
    IReadOnlyList<ErasureReceipt> Erasures)
{
    public static ActivationImport Of(IReadOnlyList<(string, string, MemberRecord)>? members = null, IReadOnlyList<(string, string, string)>? departed = null,
        IReadOnlyList<(string, string, string)>? remote = null, IReadOnlyList<SyncRunReport>? runs = null, IReadOnlyList<ErasureReceipt>? erasures = null) =>
        new(members ?? [], departed ?? [], remote ?? [], runs ?? [], erasures ?? []);
}

/// <summary>The erasures one deletion owes at the destinations, one entry per destination.</summary>
internal sealed class ErasureReceipt(string id, DateTime at, List<ErasureEntry> destinations)
{
    public string Id { get; } = id;
    public DateTime At { get; } = at;
    public List<ErasureEntry> Destinations { get; } = destinations;

    public bool Open => Destinations.Any(d => d.Done is null);
}

/// <summary>
/// One destination's erasure: the person's addresses and profile ids (kept only while the calls are owed), the outcome,
/// attempts and when the next one is due.
/// </summary>
internal sealed class ErasureEntry
{
    public required string Destination { get; init; }
    public required string Type { get; init; }
    public string Status { get; set; } = VendorErasures.Pending;
    public int Attempts { get; set; }
    public DateTime Next { get; set; }
    public List<string> Syncs { get; set; } = [];
    public List<string> Keys { get; set; } = [];
    public List<string> Profiles { get; set; } = [];
    public DateTime? Done { get; set; }
    public string? Detail { get; set; }
    public string? Error { get; set; }
    public List<string>? Files { get; set; }
    public RemoteCopies? Remote { get; set; }
}

/// <summary>CSV copies uploaded by SFTP before a deletion: outside Cdp's reach.</summary>
internal sealed record RemoteCopies(string Host, string Folder, List<string> Files);

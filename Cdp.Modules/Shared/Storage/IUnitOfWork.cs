namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// One open write transaction of the storage provider, handed through the module contracts so that whatever several
/// modules write in it (the processor's batch: identity, profiles, segment state, matching's journal and the checkpoint;
/// an erasure: every holder of personal data) commits or rolls back together. It names no engine: each module's store
/// reaches its provider's handle through it (LiteDB: <see cref="LiteDb.LiteUnitOfWork"/>). Bound to the thread that opened
/// it: no await, no other thread, until the transaction ends.
/// </summary>
public interface IUnitOfWork
{
    /// <summary>The provider this transaction belongs to (<see cref="StorageProviders"/>).</summary>
    string Provider { get; }
}

/// <summary>Opens units of work: one transaction at a time on the calling thread, committed when the work returns.</summary>
public interface IUnitOfWorkFactory
{
    /// <summary>Runs <paramref name="work"/> in one transaction and commits it; an exception rolls everything back and is rethrown.</summary>
    T InTransaction<T>(Func<IUnitOfWork, T> work);
}

public static class UnitOfWorkFactoryExtensions
{
    public static void InTransaction(this IUnitOfWorkFactory factory, Action<IUnitOfWork> work) =>
        factory.InTransaction(tx => { work(tx); return 0; });
}

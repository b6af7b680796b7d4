using LiteDB;

namespace Cdp.Modules.Shared.Storage.LiteDb;

/// <summary>The LiteDB provider's unit of work: the one <see cref="LiteDatabase"/> inside an open <see cref="CdpDatabase.InTransaction{T}(Func{LiteDatabase, T})"/>.</summary>
public sealed class LiteUnitOfWork(LiteDatabase database) : IUnitOfWork
{
    public string Provider => StorageProviders.LiteDb;

    public LiteDatabase Database { get; } = database;
}

public static class LiteUnitOfWorkExtensions
{
    /// <summary>
    /// The LiteDB handle of <paramref name="tx"/>, for a module's LiteDB store. Any other provider's transaction is refused:
    /// a store that reaches here has no implementation for that provider.
    /// </summary>
    public static LiteDatabase Lite(this IUnitOfWork tx) => tx is LiteUnitOfWork lite
        ? lite.Database
        : throw new NotSupportedException($"this store keeps its data in LiteDB and got a {tx.Provider} transaction");
}

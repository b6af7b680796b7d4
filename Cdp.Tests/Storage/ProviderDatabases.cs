using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Cdp.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Storage;

/// <summary>
/// A fresh database on either provider for a store's contract test: a LiteDB file in a temp folder, or a PostgreSQL
/// database of the test cluster with the given modules' migrations applied (skips, or fails under CI, without PostgreSQL).
/// Disposes what it opened.
/// </summary>
internal sealed class ProviderDatabases : IAsyncDisposable
{
    public static readonly TheoryData<string> Providers = new([StorageProviders.LiteDb, StorageProviders.PostgreSql]);

    private readonly List<IAsyncDisposable> _owned = [];
    private readonly string _folder = Directory.CreateTempSubdirectory("cdp-provider-").FullName;

    /// <summary>The open database: <see cref="Lite"/> or <see cref="Postgres"/> is set, as <paramref name="Provider"/> says.</summary>
    public sealed record Opened(string Provider, CdpDatabase? Lite, PostgresDatabase? Postgres)
    {
        public IUnitOfWorkFactory Transactions => (IUnitOfWorkFactory?)Lite ?? Postgres!;

        public T InTransaction<T>(Func<IUnitOfWork, T> work) => Transactions.InTransaction(work);
    }

    public async Task<Opened> OpenAsync(string provider, params IPostgresSchema[] schemas)
    {
        if (provider == StorageProviders.LiteDb)
        {
            var db = new CdpDatabase(Options.Create(new StorageOptions { Path = Path.Combine(_folder, $"cdp-{_owned.Count}.db") }), NullLogger<CdpDatabase>.Instance);
            _owned.Add(new Disposer(db.Dispose));
            return new Opened(provider, db, null);
        }
        var database = new PostgresDatabase(await PostgresServer.CreateDatabaseAsync());
        _owned.Add(database);
        new SchemaMigrator(database, schemas).Apply();
        return new Opened(provider, null, database);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var d in _owned) await d.DisposeAsync();
        try { Directory.Delete(_folder, true); } catch (IOException) { }
    }

    private sealed class Disposer(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }
}

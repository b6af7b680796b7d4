using Cdp.Modules.Shared.Storage.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// The registered <see cref="IUnitOfWorkFactory"/>: the transactions of the provider Cdp:Storage:Provider names. A class of
/// its own rather than a factory returning the database: the container disposes what a factory returns, and would dispose
/// the database a second time, out of its order.
/// </summary>
internal sealed class ProviderTransactions(IServiceProvider services, IOptions<StorageOptions> options) : IUnitOfWorkFactory
{
    private readonly IUnitOfWorkFactory _provider = options.Value.UsesPostgreSql
        ? services.GetRequiredService<PostgresDatabase>()
        : services.GetRequiredService<CdpDatabase>();

    public T InTransaction<T>(Func<IUnitOfWork, T> work) => _provider.InTransaction(work);
}

using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Operations;

/// <summary>cdp.db for backup and restore; the live database is opened only when a copy is asked for.</summary>
[Service]
internal sealed class MainDatabaseFile(IOptions<StorageOptions> storage, IServiceProvider services) : IDatabaseFile
{
    public string Name => "data";

    public string FilePath => Path.GetFullPath(storage.Value.Path);

    public long CopyConsistentTo(string targetFile)
    {
        return services.GetRequiredService<CdpDatabase>().CopyConsistentTo(targetFile);
    }
}

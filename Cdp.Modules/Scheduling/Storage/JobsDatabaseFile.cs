using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>The jobs file for backup and restore; the live job storage is opened only when a copy is asked for.</summary>
[Service]
internal sealed class JobsDatabaseFile(IOptions<SchedulingOptions> scheduling, IOptions<StorageOptions> storage, IServiceProvider services) : IDatabaseFile
{
    public string Name => "jobs";

    public string FilePath => Path.GetFullPath(SchedulingModule.JobsPath(scheduling.Value, storage.Value));

    public long CopyConsistentTo(string targetFile)
    {
        var jobs = services.GetRequiredService<LiteDbJobStorage>();
        return LiteDbFiles.CopyConsistent(jobs.Database.Database, jobs.FilePath, targetFile);
    }
}

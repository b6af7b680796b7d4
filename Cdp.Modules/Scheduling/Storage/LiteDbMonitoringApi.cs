using System.Globalization;
using Hangfire.Common;
using Hangfire.States;
using Hangfire.Storage;
using Hangfire.Storage.Monitoring;
using LiteDB;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>What the dashboard reads: counts and pages of jobs per state and per queue, servers, and the daily and hourly graphs.</summary>
internal sealed class LiteDbMonitoringApi(LiteDbJobStorage storage) : JobStorageMonitor
{
    /// <summary>Enqueued jobs shown per queue on the dashboard's queue page.</summary>
    private const int FirstJobsPerQueue = 5;

    private ILiteCollection<BsonDocument> Col(string name) => storage.Database.Collection(name);

    public override StatisticsDto GetStatistics()
    {
        using var connection = new LiteDbConnection(storage);
        return new StatisticsDto
        {
            Servers = Col(JobsDatabase.Servers).LongCount(),
            Recurring = connection.GetSetCount("recurring-jobs"),
            Enqueued = CountInState(EnqueuedState.StateName),
            Queues = storage.KnownQueues().Count,
            Scheduled = CountInState(ScheduledState.StateName),
            Processing = CountInState(ProcessingState.StateName),
            Succeeded = connection.GetCounter("stats:succeeded"),
            Failed = CountInState(FailedState.StateName),
            Deleted = connection.GetCounter("stats:deleted"),
            Retries = connection.GetSetCount("retries"),
            Awaiting = CountInState(AwaitingState.StateName),
        };
    }

    public override IList<QueueWithTopEnqueuedJobsDto> Queues() =>
        storage.KnownQueues().Select(queue => new QueueWithTopEnqueuedJobsDto
        {
            Name = queue,
            Length = EnqueuedCount(queue),
            Fetched = FetchedCount(queue),
            FirstJobs = EnqueuedJobs(queue, 0, FirstJobsPerQueue),
        }).ToList();

    public override IList<ServerDto> Servers() =>
        Col(JobsDatabase.Servers).FindAll().Select(s => new ServerDto
        {
            Name = s["_id"].AsString,
            WorkersCount = s[ServerFields.Workers].AsInt32,
            Queues = s[ServerFields.Queues].AsArray.Select(q => q.AsString).ToList(),
            StartedAt = JobDocuments.FromTicks(s[ServerFields.StartedAt].AsInt64),
            Heartbeat = JobDocuments.FromTicks(s[ServerFields.Heartbeat].AsInt64),
        }).ToList();

    public override JobDetailsDto? JobDetails(string jobId)
    {
        if (!JobIds.TryParse(jobId, out var id)) return null;
        var job = Col(JobsDatabase.Jobs).FindById(id);
        if (job is null) return null;
        var invocation = JobDocuments.Invocation(job);
        var (loaded, loadException) = JobDocuments.Load(invocation);
        return new JobDetailsDto
        {
            Job = loaded,
            LoadException = loadException,
            InvocationData = invocation,
            CreatedAt = JobDocuments.FromTicks(job[JobFields.CreatedAt].AsInt64),
            ExpireAt = JobDocuments.FromTicks(job[JobFields.ExpireAt]),
            Properties = JobDocuments.Map(job[JobFields.Parameters], StringComparer.Ordinal)
                .Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!, StringComparer.Ordinal),
            History = job[JobFields.History].AsArray.Reverse().Select(h => new StateHistoryDto
            {
                StateName = h[StateFields.Name].AsString,
                Reason = h[StateFields.Reason].IsNull ? null : h[StateFields.Reason].AsString,
                CreatedAt = JobDocuments.FromTicks(h[StateFields.CreatedAt].AsInt64),
                Data = JobDocuments.Map(h[StateFields.Data], StringComparer.OrdinalIgnoreCase)!,
            }).ToList(),
        };
    }

    // ---- queues ----

    public override long EnqueuedCount(string queue) => Col(JobsDatabase.Queue).LongCount(JobQueue.ReadyIn(queue));

    public override long FetchedCount(string queue) => FetchedEntries(queue).LongCount();

    private IEnumerable<BsonDocument> FetchedEntries(string queue) =>
        Col(JobsDatabase.Queue).Find(JobQueue.AllFetched())
            .Where(e => string.Equals(e[QueueFields.Queue].AsString, queue, StringComparison.Ordinal))
            .OrderBy(e => e["_id"].AsInt64);

    public override JobList<EnqueuedJobDto> EnqueuedJobs(string queue, int from, int perPage)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var jobIds = Col(JobsDatabase.Queue).Query().Where(JobQueue.ReadyIn(queue)).OrderBy(QueueFields.Slot)
            .Offset(Math.Max(0, from)).Limit(Math.Max(0, perPage)).ToEnumerable()
            .Select(e => e[QueueFields.JobId].AsInt64).ToList();
        return List(Jobs(jobIds), (job, view) =>
        {
            var inEnqueued = view.StateName == EnqueuedState.StateName;
            return new EnqueuedJobDto
            {
                Job = view.Job,
                LoadException = view.LoadException,
                InvocationData = view.Invocation,
                State = view.StateName,
                InEnqueuedState = inEnqueued,
                EnqueuedAt = inEnqueued ? view.StateChanged : null,
                StateData = view.StateData,
            };
        });
    }

    public override JobList<FetchedJobDto> FetchedJobs(string queue, int from, int perPage)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var entries = FetchedEntries(queue).Skip(Math.Max(0, from)).Take(Math.Max(0, perPage)).ToList();
        var fetchedAt = entries.ToDictionary(e => e[QueueFields.JobId].AsInt64, e => JobDocuments.FromTicks(e[QueueFields.FetchedAt]));
        return List(Jobs(entries.Select(e => e[QueueFields.JobId].AsInt64).ToList()), (job, view) => new FetchedJobDto
        {
            Job = view.Job,
            LoadException = view.LoadException,
            InvocationData = view.Invocation,
            State = view.StateName,
            FetchedAt = fetchedAt.GetValueOrDefault(job["_id"].AsInt64),
        });
    }

    // ---- jobs per state ----

    public override long ScheduledCount() => CountInState(ScheduledState.StateName);

    public override long FailedCount() => CountInState(FailedState.StateName);

    public override long ProcessingCount() => CountInState(ProcessingState.StateName);

    public override long SucceededListCount() => CountInState(SucceededState.StateName);

    public override long DeletedListCount() => CountInState(DeletedState.StateName);

    public override long AwaitingCount() => CountInState(AwaitingState.StateName);

    public override JobList<ProcessingJobDto> ProcessingJobs(int from, int count) =>
        List(InState(ProcessingState.StateName, from, count, newestFirst: false), (_, v) => new ProcessingJobDto
        {
            Job = v.Job,
            LoadException = v.LoadException,
            InvocationData = v.Invocation,
            InProcessingState = true,
            ServerId = v.StateData.GetValueOrDefault("ServerId") ?? v.StateData.GetValueOrDefault("ServerName"),
            StartedAt = v.StateChanged,
            StateData = v.StateData,
        });

    public override JobList<ScheduledJobDto> ScheduledJobs(int from, int count) =>
        List(InState(ScheduledState.StateName, from, count, newestFirst: false), (_, v) => new ScheduledJobDto
        {
            Job = v.Job,
            LoadException = v.LoadException,
            InvocationData = v.Invocation,
            InScheduledState = true,
            EnqueueAt = JobHelper.DeserializeNullableDateTime(v.StateData.GetValueOrDefault("EnqueueAt")) ?? DateTime.MinValue,
            ScheduledAt = v.StateChanged,
            StateData = v.StateData,
        });

    public override JobList<SucceededJobDto> SucceededJobs(int from, int count) =>
        List(InState(SucceededState.StateName, from, count, newestFirst: true), (_, v) => new SucceededJobDto
        {
            Job = v.Job,
            LoadException = v.LoadException,
            InvocationData = v.Invocation,
            InSucceededState = true,
            Result = v.StateData.GetValueOrDefault("Result"),
            TotalDuration = long.TryParse(v.StateData.GetValueOrDefault("PerformanceDuration"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var duration)
                && long.TryParse(v.StateData.GetValueOrDefault("Latency"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var latency)
                ? duration + latency : null,
            SucceededAt = v.StateChanged,
            StateData = v.StateData,
        });

    public override JobList<FailedJobDto> FailedJobs(int from, int count) =>
        List(InState(FailedState.StateName, from, count, newestFirst: true), (_, v) => new FailedJobDto
        {
            Job = v.Job,
            LoadException = v.LoadException,
            InvocationData = v.Invocation,
            InFailedState = true,
            Reason = v.Reason,
            ExceptionType = v.StateData.GetValueOrDefault("ExceptionType"),
            ExceptionMessage = v.StateData.GetValueOrDefault("ExceptionMessage"),
            ExceptionDetails = v.StateData.GetValueOrDefault("ExceptionDetails"),
            FailedAt = v.StateChanged,
            StateData = v.StateData,
        });

    public override JobList<DeletedJobDto> DeletedJobs(int from, int count) =>
        List(InState(DeletedState.StateName, from, count, newestFirst: true), (_, v) => new DeletedJobDto
        {
            Job = v.Job,
            LoadException = v.LoadException,
            InvocationData = v.Invocation,
            InDeletedState = true,
            DeletedAt = v.StateChanged,
            StateData = v.StateData,
        });

    public override JobList<AwaitingJobDto> AwaitingJobs(int from, int count)
    {
        var jobs = InState(AwaitingState.StateName, from, count, newestFirst: false);
        return List(jobs, (_, v) =>
        {
            string? parentState = null;
            if (v.StateData.TryGetValue("ParentId", out var parentId) && JobIds.TryParse(parentId ?? "", out var pid)
                && Col(JobsDatabase.Jobs).FindById(pid) is { } parent)
                parentState = JobDocuments.StateName(parent);
            return new AwaitingJobDto
            {
                Job = v.Job,
                LoadException = v.LoadException,
                InvocationData = v.Invocation,
                InAwaitingState = true,
                AwaitingAt = v.StateChanged,
                StateData = v.StateData,
                ParentStateName = parentState,
            };
        });
    }

    // ---- graphs ----

    public override IDictionary<DateTime, long> SucceededByDatesCount() => Daily("succeeded");

    public override IDictionary<DateTime, long> FailedByDatesCount() => Daily("failed");

    public override IDictionary<DateTime, long> DeletedByDatesCount() => Daily("deleted");

    public override IDictionary<DateTime, long> HourlySucceededJobs() => Hourly("succeeded");

    public override IDictionary<DateTime, long> HourlyFailedJobs() => Hourly("failed");

    public override IDictionary<DateTime, long> HourlyDeletedJobs() => Hourly("deleted");

    /// <summary>The last 7 days (UTC), from the counters Hangfire's StatisticsHistory filter keeps.</summary>
    private Dictionary<DateTime, long> Daily(string kind)
    {
        var today = storage.UtcNow.Date;
        return Timeline(Enumerable.Range(0, 7).Select(i => today.AddDays(-i)), d => $"stats:{kind}:{d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}");
    }

    /// <summary>The last 24 hours (UTC).</summary>
    private Dictionary<DateTime, long> Hourly(string kind)
    {
        var now = storage.UtcNow;
        var hour = new DateTime(now.Year, now.Month, now.Day, now.Hour, 0, 0, DateTimeKind.Utc);
        return Timeline(Enumerable.Range(0, 24).Select(i => hour.AddHours(-i)), d => $"stats:{kind}:{d.ToString("yyyy-MM-dd-HH", CultureInfo.InvariantCulture)}");
    }

    private Dictionary<DateTime, long> Timeline(IEnumerable<DateTime> points, Func<DateTime, string> key)
    {
        var counters = Col(JobsDatabase.Counters);
        return points.ToDictionary(p => p, p => counters.FindById(key(p))?[CounterFields.Value].AsInt64 ?? 0);
    }

    // ---- helpers ----

    private long CountInState(string stateName) => Col(JobsDatabase.Jobs).LongCount(Keys.Under(JobFields.StateKey, stateName));

    private List<BsonDocument> InState(string stateName, int from, int count, bool newestFirst)
    {
        var query = Col(JobsDatabase.Jobs).Query().Where(Keys.Under(JobFields.StateKey, stateName));
        var ordered = newestFirst ? query.OrderByDescending(JobFields.StateKey) : query.OrderBy(JobFields.StateKey);
        return ordered.Offset(Math.Max(0, from)).Limit(Math.Max(0, count)).ToList();
    }

    private List<BsonDocument> Jobs(List<long> ids)
    {
        var col = Col(JobsDatabase.Jobs);
        // A job that expired since its queue entry was read shows as a null row, as in Hangfire's own storages.
        return ids.Select(id => col.FindById(id) ?? new BsonDocument { ["_id"] = id, ["missing"] = true }).ToList();
    }

    private static JobList<TDto> List<TDto>(List<BsonDocument> jobs, Func<BsonDocument, JobView, TDto> map) =>
        new(jobs.Select(job => new KeyValuePair<string, TDto>(
            JobIds.Format(job["_id"].AsInt64),
            job.ContainsKey("missing") ? default! : map(job, JobView.Of(job)))));

    private sealed record JobView(Job? Job, JobLoadException? LoadException, InvocationData Invocation, string? StateName,
        string? Reason, DateTime? StateChanged, Dictionary<string, string?> StateData)
    {
        public static JobView Of(BsonDocument job)
        {
            var invocation = JobDocuments.Invocation(job);
            var (loaded, loadException) = JobDocuments.Load(invocation);
            var state = job[JobFields.State];
            return state.IsDocument
                ? new JobView(loaded, loadException, invocation, state[StateFields.Name].AsString,
                    state[StateFields.Reason].IsNull ? null : state[StateFields.Reason].AsString,
                    JobDocuments.FromTicks(state[StateFields.CreatedAt].AsInt64),
                    JobDocuments.Map(state[StateFields.Data], StringComparer.OrdinalIgnoreCase))
                : new JobView(loaded, loadException, invocation, null, null, null, new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase));
        }
    }
}

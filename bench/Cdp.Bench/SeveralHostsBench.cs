using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Npgsql;

namespace Cdp.Bench;

/// <summary>
/// Several Cdp hosts on one PostgreSQL (Cdp:Storage:Hosts = Several, issue #28), with real host processes
/// (<see cref="HostProcess"/>): ingest with one host and with two on this machine, each on a fresh database, one host's
/// figure the two hosts' ceiling; then the processor's leader killed with SIGKILL under a steady load to both hosts,
/// repeatedly: the time to another host leading and to its first processed batch, and the processing lag meanwhile
/// against the steady lag before the kill. Needs CDP_BENCH_POSTGRES. CDP_BENCH_SEVERAL_PART=ingest or failover runs one
/// part; CDP_BENCH_FAILOVER_RATE (events/s to both hosts together, 2,000) and CDP_BENCH_FAILOVER_ROUNDS (kills: 3 with
/// --quick, 5 without) size the fail-over.
/// </summary>
internal sealed class SeveralHostsBench : IBenchScenario
{
    private const int Connections = 256;
    private const int BatchConnections = 8;

    public string Name => "severalhosts";

    public async Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        if (Environment.GetEnvironmentVariable("CDP_BENCH_POSTGRES") is null)
        {
            Console.WriteLine($"   several hosts on PostgreSQL: skipped, {BenchPostgres.WhyNot}");
            return [];
        }
        if (!HostProcess.Available)
        {
            Console.WriteLine($"   several hosts: skipped, {HostProcess.Dll} is not there (build the bench: it references Cdp.Host)");
            return [];
        }
        Console.WriteLine($"   {Environment.ProcessorCount} cores shared by every host, PostgreSQL and the load generator (and anything else running)");
        var run = new Run(context);
        try
        {
            var part = Environment.GetEnvironmentVariable("CDP_BENCH_SEVERAL_PART");
            var figures = new List<BenchFigure>();
            if (part is null or "ingest") figures.AddRange(await IngestAsync(run));
            if (part is null or "failover") figures.AddRange(await FailoverAsync(run));
            return figures;
        }
        finally
        {
            await run.DisposeAsync();
        }
    }

    /// <summary>The hosts and databases of a run: every host killed and every database dropped at its end.</summary>
    private sealed class Run(BenchContext context) : IAsyncDisposable
    {
        private readonly List<HostProcess> _hosts = [];
        private readonly List<string> _databases = [];

        public BenchContext Context => context;

        /// <summary>A fresh database's host settings, with Hosts = Several.</summary>
        public async Task<(string ConnectionString, string[] Settings)> DatabaseAsync()
        {
            var cs = await BenchPostgres.CreateDatabaseAsync() ?? throw new InvalidOperationException(BenchPostgres.WhyNot);
            _databases.Add(cs);
            return (cs, ["--Cdp:Storage:Provider=PostgreSql", "--Cdp:Storage:ConnectionString=" + cs, "--Cdp:Storage:Hosts=Several"]);
        }

        public async Task<HostProcess> StartAsync(string name, string[] settings)
        {
            var host = await HostProcess.StartAsync(Path.Combine(context.WorkFolder, name), settings);
            lock (_hosts) _hosts.Add(host);
            return host;
        }

        public async ValueTask DisposeAsync()
        {
            lock (_hosts)
                foreach (var h in _hosts)
                {
                    try { h.Dispose(); }
                    catch (Exception ex) { Console.WriteLine($"   could not stop the host of pid {h.Pid}: {ex.Message}"); }
                }
            foreach (var db in _databases)
            {
                try { await BenchPostgres.DropDatabaseAsync(db); }
                catch (Exception ex) { Console.WriteLine($"   could not drop {new NpgsqlConnectionStringBuilder(db).Database}: {ex.Message}"); }
            }
        }
    }

    // ---------------------------------------------------------------- ingest: one host, then two

    private sealed record Load(double EventsPerSecond, double P99Ms, long Failures, CpuUsage Cpu, double EventsPerCommit);

    private static async Task<IReadOnlyList<BenchFigure>> IngestAsync(Run run)
    {
        var context = run.Context;
        var duration = context.Duration(10);
        var external = WrkLoad.Available;
        var template = Encoding.UTF8.GetString(IngestBench.TrackTemplate);
        Console.WriteLine(external
            ? "   ingest: /v1/track from wrk (one process per host, the connections split between them), /v1/batch from the in-process generator; processor paused (collection alone)"
            : "   ingest: /v1/track and /v1/batch from the in-process generator (install wrk for the external one); processor paused (collection alone)");

        async Task<Load> Measure(IReadOnlyList<HostProcess> group, string connectionString, bool batch)
        {
            var cpu = CpuSnapshot.Take(group);
            var commits = await CommitsAsync(connectionString);
            var runs = group.Select((h, i) =>
            {
                // ids unique across the hosts' generators: one host's events must not be another's retries
                var mine = template.Replace("{n}", $"h{i}-{{n}}");
                if (batch)
                    return LoadGenerator.RunAsync(h.BaseAddress, "/v1/batch", IngestBench.WriteKey, BatchConnections / group.Count, duration,
                        n => IngestBench.BatchBody(n < 0 ? n - i * 1_000 : n + i * 100_000_000_000L));
                return external
                    ? WrkLoad.RunAsync(h.BaseAddress, "/v1/track", IngestBench.WriteKey, Connections / group.Count, duration, mine, context.WorkFolder)
                    : LoadGenerator.RunAsync(h.BaseAddress, "/v1/track", IngestBench.WriteKey, Connections / group.Count, duration,
                        n => Encoding.UTF8.GetBytes(mine.Replace("{n}", n.ToString())));
            }).ToList();
            var results = await Task.WhenAll(runs);
            var usage = cpu.Since(group);
            var (count, stored) = await CommitsAsync(connectionString);
            var perCommit = count > commits.Count ? (double)(stored - commits.Stored) / (count - commits.Count) : 0;
            var load = new Load(results.Sum(r => r.RequestsPerSecond) * (batch ? 500 : 1), results.Max(r => r.P99Ms), results.Sum(r => r.Failures), usage, perCommit);
            Console.WriteLine($"   {group.Count} host{(group.Count > 1 ? "s" : "")}, {(batch ? "/v1/batch" : "/v1/track")}: {load.EventsPerSecond:N0} events/s" +
                (group.Count > 1 ? $" ({string.Join(" + ", results.Select(r => (r.RequestsPerSecond * (batch ? 500 : 1)).ToString("N0")))})" : "") +
                $", {count - commits.Count:N0} group commits ({perCommit:N1} events each); {usage}");
            return load;
        }

        async Task<(Load Track, Load Batch)> Hosts(int count, string name)
        {
            var (connectionString, settings) = await run.DatabaseAsync();
            var group = new List<HostProcess>();
            try
            {
                for (var i = 0; i < count; i++) group.Add(await run.StartAsync($"{name}{i}", settings));
                var (leader, _) = await LeaderAsync(group);
                await group[leader].PauseProcessorAsync();
                return (await Measure(group, connectionString, batch: false), await Measure(group, connectionString, batch: true));
            }
            finally
            {
                foreach (var h in group) h.Dispose();
            }
        }

        var one = await Hosts(1, "one");
        var two = await Hosts(2, "two");
        // the second load of a run is often faster than the first (a warmer machine, PostgreSQL's caches): one host once
        // more after the two says how much of the ratio the order alone is
        var again = await Hosts(1, "again");

        var cores = (double)Environment.ProcessorCount;
        return
        [
            new BenchFigure("/v1/track, one host (Hosts=Several), collection alone", one.Track.EventsPerSecond, "events/s"),
            new BenchFigure("/v1/track, two hosts on this machine", two.Track.EventsPerSecond, "events/s",
                CeilingName: "one host", Ceiling: one.Track.EventsPerSecond),
            new BenchFigure("/v1/track, one host again after the two (order check)", again.Track.EventsPerSecond, "events/s",
                CeilingName: "one host, first", Ceiling: one.Track.EventsPerSecond),
            new BenchFigure("/v1/track p99, one host", one.Track.P99Ms, "ms", LowerIsBetter: true),
            new BenchFigure("/v1/track p99, two hosts (the slower)", two.Track.P99Ms, "ms", LowerIsBetter: true,
                CeilingName: "one host", Ceiling: one.Track.P99Ms),
            new BenchFigure("/v1/batch 500-event batches, one host", one.Batch.EventsPerSecond, "events/s"),
            new BenchFigure("/v1/batch 500-event batches, two hosts", two.Batch.EventsPerSecond, "events/s",
                CeilingName: "one host", Ceiling: one.Batch.EventsPerSecond),
            new BenchFigure("/v1/batch, one host again (order check)", again.Batch.EventsPerSecond, "events/s",
                CeilingName: "one host, first", Ceiling: one.Batch.EventsPerSecond),
            // the machine's cores are shared with everything else: events per CPU-second of the Cdp processes is the steadier figure
            new BenchFigure("/v1/track events per Cdp CPU-second, one host", one.Track.EventsPerSecond / Math.Max(0.01, one.Track.Cpu.Hosts.Sum()), "events"),
            new BenchFigure("/v1/track events per Cdp CPU-second, two hosts", two.Track.EventsPerSecond / Math.Max(0.01, two.Track.Cpu.Hosts.Sum()), "events",
                CeilingName: "one host", Ceiling: one.Track.EventsPerSecond / Math.Max(0.01, one.Track.Cpu.Hosts.Sum())),
            new BenchFigure("events per group commit, /v1/track one host", one.Track.EventsPerCommit, "events"),
            new BenchFigure("events per group commit, /v1/track two hosts", two.Track.EventsPerCommit, "events",
                CeilingName: "one host", Ceiling: one.Track.EventsPerCommit),
            new BenchFigure("machine CPU busy, /v1/track one host", one.Track.Cpu.Machine, "cores", CeilingName: "cores", Ceiling: cores),
            new BenchFigure("machine CPU busy, /v1/track two hosts", two.Track.Cpu.Machine, "cores", CeilingName: "cores", Ceiling: cores),
            new BenchFigure("Cdp hosts' CPU, /v1/track one host", one.Track.Cpu.Hosts.Sum(), "cores", CeilingName: "cores", Ceiling: cores),
            new BenchFigure("Cdp hosts' CPU, /v1/track two hosts", two.Track.Cpu.Hosts.Sum(), "cores", CeilingName: "cores", Ceiling: cores),
            new BenchFigure("PostgreSQL's CPU, /v1/track one host", one.Track.Cpu.Postgres, "cores", CeilingName: "cores", Ceiling: cores),
            new BenchFigure("PostgreSQL's CPU, /v1/track two hosts", two.Track.Cpu.Postgres, "cores", CeilingName: "cores", Ceiling: cores),
            new BenchFigure("wrk's CPU, /v1/track one host", one.Track.Cpu.Wrk, "cores", CeilingName: "cores", Ceiling: cores),
            new BenchFigure("wrk's CPU, /v1/track two hosts", two.Track.Cpu.Wrk, "cores", CeilingName: "cores", Ceiling: cores),
            new BenchFigure("other processes' CPU (noise), /v1/track one host", one.Track.Cpu.Others, "cores", CeilingName: "cores", Ceiling: cores),
            new BenchFigure("other processes' CPU (noise), /v1/track two hosts", two.Track.Cpu.Others, "cores", CeilingName: "cores", Ceiling: cores),
            new BenchFigure("non-200 answers during the ingest runs",
                one.Track.Failures + one.Batch.Failures + two.Track.Failures + two.Batch.Failures + again.Track.Failures + again.Batch.Failures,
                "requests", Target: 0, LowerIsBetter: true),
        ];
    }

    /// <summary>Which host of <paramref name="group"/> leads, waiting until one does (and checking that only one does).</summary>
    private static async Task<(int Leader, ProcessorState State)> LeaderAsync(IReadOnlyList<HostProcess> group)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var states = await Task.WhenAll(group.Select(h => h.StatusAsync()));
            if (states.Count(s => s.Leading) > 1) throw new InvalidOperationException("two hosts lead at once");
            var leader = Array.FindIndex(states, s => s.Leading);
            if (leader >= 0) return (leader, states[leader]);
            if (DateTime.UtcNow > deadline) throw new TimeoutException("no host took the processor's lead within 60 s");
            await Task.Delay(50);
        }
    }

    // ---------------------------------------------------------------- fail-over

    private static async Task<IReadOnlyList<BenchFigure>> FailoverAsync(Run run)
    {
        var context = run.Context;
        var rate = int.TryParse(Environment.GetEnvironmentVariable("CDP_BENCH_FAILOVER_RATE"), out var r) ? r : 2_000;
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("CDP_BENCH_FAILOVER_ROUNDS"), out var n) ? n : context.Quick ? 3 : 5;
        var steadyFor = TimeSpan.FromSeconds(context.Quick ? 3 : 10);
        Console.WriteLine($"   fail-over: two hosts, {rate:N0} track events/s to both together (half each; a request the dead host does not " +
                          $"answer is sent to the other, as a load balancer would), each event a new person; the leader killed {rounds} times (SIGKILL), " +
                          "the killed host started again as a follower after each; the hosts' /api/profiles/processor sampled every 50 ms");

        var (connectionString, settings) = await run.DatabaseAsync();
        var slots = new HostProcess[2];
        slots[0] = await run.StartAsync("f0", settings);
        slots[1] = await run.StartAsync("f1", settings);
        var coldStart = slots[1].StartSeconds; // a host's start beside a running one: what a restart-based recovery would cost at least

        var figures = new List<BenchFigure>();
        using var stop = new CancellationTokenSource();
        var load = new PacedLoad(rate, slots);
        var sampler = new Sampler(slots);
        var loadTask = load.RunAsync(stop.Token);
        var samplerTask = sampler.RunAsync(stop.Token);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(2)); // the hosts' JIT, the first profiles
            for (var round = 1; round <= rounds; round++)
            {
                var (leader, _) = await LeaderAsync(slots);
                var survivor = 1 - leader;

                // the steady lag: the leader's own checkpoint (a follower's follows the stored one only once a second)
                var steadyFrom = sampler.Now;
                await Task.Delay(steadyFor);
                var steady = sampler.Window(steadyFrom, sampler.Now).Where(s => s.Slot == leader && s.State.Leading).ToList();
                if (steady.Count == 0) throw new InvalidOperationException("no sample of the leader in the steady window");
                var steadyLags = steady.Select(s => (Events: sampler.LagEvents(s, 0), Seconds: sampler.LagSeconds(s, 0))).ToList();
                var steadyMax = steadyLags.Max(l => l.Events);
                var steadyMaxSeconds = steadyLags.Max(l => l.Seconds);

                var killedAt = sampler.Now;
                var victim = slots[leader];
                victim.Kill();
                var death = await StoredCheckpointAsync(connectionString); // the killed leader commits nothing more
                var headAtDeath = sampler.HeadAt(killedAt);

                double? leadAt = null, nextBatchAt = null, recoveredAt = null;
                var deadline = killedAt + 60;
                while (recoveredAt is null && sampler.Now < deadline)
                {
                    await Task.Delay(50);
                    foreach (var s in sampler.Window(killedAt, double.MaxValue).Where(s => s.Slot == survivor))
                    {
                        if (leadAt is null && s.State.Leading) leadAt = s.T;
                        if (nextBatchAt is null && s.State.Leading && s.State.Checkpoint > death) nextBatchAt = s.T;
                        if (nextBatchAt is not null && recoveredAt is null && s.T >= nextBatchAt && sampler.LagEvents(s, death) <= steadyMax) recoveredAt = s.T;
                    }
                }
                if (leadAt is null) throw new TimeoutException($"the other host did not take the lead within 60 s of the leader's death:\n{slots[survivor].Output}");
                var until = recoveredAt ?? sampler.Now;
                var during = sampler.Window(killedAt, until).Where(s => s.Slot == survivor).ToList();
                var maxLag = during.Count == 0 ? 0 : during.Max(s => sampler.LagEvents(s, death));
                var maxLagSeconds = during.Count == 0 ? 0 : during.Max(s => sampler.LagSeconds(s, death));
                Console.WriteLine($"   fail-over {round}: killed pid {victim.Pid} at checkpoint {death:N0} (log head {headAtDeath:N0}); steady lag before: " +
                                  $"mean {steadyLags.Average(l => l.Events):N0} events, largest {steadyMax:N0} ({steadyMaxSeconds:N3} s), {steady.Count} samples; " +
                                  $"the other host led after {leadAt - killedAt:N3} s, processed past {death:N0} after {nextBatchAt - killedAt:N3} s, " +
                                  (recoveredAt is null ? "its lag was not back at the steady level within 60 s" : $"its lag was back at the steady level after {recoveredAt - killedAt:N3} s") +
                                  $"; a host's cold start {coldStart:N2} s; the survivor sampled every {(during.Count > 1 ? (during[^1].T - during[0].T) / (during.Count - 1) * 1000 : 0):N0} ms on average");

                figures.Add(new BenchFigure($"fail-over {round}: death to another host leading", leadAt.Value - killedAt, "s",
                    CeilingName: "a host's cold start", Ceiling: coldStart, LowerIsBetter: true));
                figures.Add(new BenchFigure($"fail-over {round}: death to the next processed batch", (nextBatchAt ?? until) - killedAt, "s",
                    CeilingName: "a host's cold start", Ceiling: coldStart, LowerIsBetter: true));
                figures.Add(new BenchFigure($"fail-over {round}: death to the lag back at steady", until - killedAt, "s",
                    CeilingName: "a host's cold start", Ceiling: coldStart, LowerIsBetter: true));
                figures.Add(new BenchFigure($"fail-over {round}: largest processing lag", maxLag, "events",
                    CeilingName: "steady lag (largest)", Ceiling: steadyMax, LowerIsBetter: true));
                figures.Add(new BenchFigure($"fail-over {round}: largest processing lag, age", maxLagSeconds, "s",
                    CeilingName: "steady lag (largest)", Ceiling: steadyMaxSeconds, LowerIsBetter: true));

                // the killed host comes back as a follower (its folder again), and is the survivor of the next round
                victim.Dispose();
                slots[leader] = await run.StartAsync($"f{leader}", settings);
                coldStart = slots[leader].StartSeconds;
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
        finally
        {
            stop.Cancel();
            try { await loadTask; } catch (OperationCanceledException) { }
            try { await samplerTask; } catch (OperationCanceledException) { }
        }

        // every acknowledged event in the log once: the leader catches up, then the log's message ids against the acknowledged
        var (final, _) = await LeaderAsync(slots);
        var caughtUp = DateTime.UtcNow.AddSeconds(60);
        ProcessorState state;
        while ((state = await slots[final].StatusAsync()).Lag > 0 && DateTime.UtcNow < caughtUp) await Task.Delay(100);
        var (logged, distinct, missing) = await LogCheckAsync(connectionString, load.Acknowledged);
        Console.WriteLine($"   fail-over load: {load.Acknowledged.Count:N0} events acknowledged in {load.Seconds:N1} s ({load.Acknowledged.Count / load.Seconds:N0}/s; {load.Rerouted:N0} sent again to the other host after the first did not answer), " +
                          $"{logged:N0} in the log ({distinct:N0} distinct message ids), {missing:N0} acknowledged events missing; processing lag at the end {state.Lag:N0}");
        figures.Add(new BenchFigure("fail-over load: events/s acknowledged", load.Acknowledged.Count / load.Seconds, "events/s",
            CeilingName: "the rate asked for", Ceiling: rate));
        figures.Add(new BenchFigure("fail-over load: requests neither host acknowledged", load.Failed, "requests", Target: 0, LowerIsBetter: true));
        figures.Add(new BenchFigure("fail-over load: acknowledged events missing from the log", missing, "events", Target: 0, LowerIsBetter: true));
        figures.Add(new BenchFigure("fail-over load: events stored twice", logged - distinct, "events", Target: 0, LowerIsBetter: true));
        figures.Add(new BenchFigure("fail-over load: processing lag at the end", state.Lag, "events", Target: 0, LowerIsBetter: true));
        return figures;
    }

    /// <summary>The log's group commits so far (cdp_event_log_commits: one row per append, whichever host made it) and their events.</summary>
    private static async Task<(long Count, long Stored)> CommitsAsync(string connectionString)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var cmd = source.CreateCommand("SELECT count(*), coalesce(sum(stored), 0)::bigint FROM cdp_event_log_commits");
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static async Task<long> StoredCheckpointAsync(string connectionString)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var cmd = source.CreateCommand("SELECT seq FROM cdp_processor_state WHERE id = 'checkpoint'");
        return await cmd.ExecuteScalarAsync() is long seq ? seq : 0;
    }

    /// <summary>The log's events, its distinct message ids, and how many acknowledged events it does not hold.</summary>
    private static async Task<(long Logged, long Distinct, long Missing)> LogCheckAsync(string connectionString, ConcurrentDictionary<long, byte> acknowledged)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var cmd = source.CreateCommand("SELECT message_id FROM cdp_event_log");
        await using var reader = await cmd.ExecuteReaderAsync();
        var ids = new HashSet<string>();
        long logged = 0;
        while (await reader.ReadAsync())
        {
            logged++;
            ids.Add(Encoding.UTF8.GetString((byte[])reader[0]));
        }
        var missing = acknowledged.Keys.LongCount(k => !ids.Contains(PacedLoad.MessageId(k)));
        return (logged, ids.Count, missing);
    }

    /// <summary>
    /// Track events at a fixed rate, half to each host slot (workers on a schedule: a late one sends at once). A request the
    /// host does not answer (refused, reset) or answers with an error is sent to the other host, as a load balancer would.
    /// </summary>
    private sealed class PacedLoad(int rate, HostProcess[] slots)
    {
        private const int WorkersPerHost = 64; // enough that a slow answer (100+ ms under load) does not hold the rate back
        private static readonly string Template = Encoding.UTF8.GetString(IngestBench.TrackTemplate);
        private long _counter, _rerouted, _failed;

        public ConcurrentDictionary<long, byte> Acknowledged { get; } = new();

        public long Rerouted => Interlocked.Read(ref _rerouted);

        public long Failed => Interlocked.Read(ref _failed);

        public static string MessageId(long n) => $"bench-fo-{n}";

        /// <summary>Seconds the load ran.</summary>
        public double Seconds { get; private set; }

        public async Task RunAsync(CancellationToken stop)
        {
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = WorkersPerHost * 2, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
            using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(IngestBench.WriteKey + ":")));
            var interval = TimeSpan.FromSeconds(WorkersPerHost / (rate / 2.0));
            var started = Stopwatch.GetTimestamp();
            var workers = Enumerable.Range(0, 2 * WorkersPerHost).Select(w => Task.Run(async () =>
            {
                var slot = w % 2;
                var due = TimeSpan.FromTicks(interval.Ticks * (w / 2) / WorkersPerHost);
                while (!stop.IsCancellationRequested)
                {
                    var wait = due - Stopwatch.GetElapsedTime(started);
                    if (wait > TimeSpan.Zero)
                    {
                        try { await Task.Delay(wait, stop); }
                        catch (OperationCanceledException) { return; }
                    }
                    due += interval;
                    var n = Interlocked.Increment(ref _counter);
                    var body = Encoding.UTF8.GetBytes(Template.Replace("bench-{n}", MessageId(n)).Replace("{n}", "fo-" + n));
                    var acknowledged = await SendAsync(client, slots[slot], body);
                    if (!acknowledged)
                    {
                        Interlocked.Increment(ref _rerouted);
                        acknowledged = await SendAsync(client, slots[1 - slot], body);
                    }
                    if (acknowledged) Acknowledged[n] = 0;
                    else Interlocked.Increment(ref _failed);
                }
            })).ToList();
            await Task.WhenAll(workers);
            Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        }

        private static async Task<bool> SendAsync(HttpClient client, HostProcess host, byte[] body)
        {
            try
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await client.PostAsync(new Uri(host.BaseAddress, "/v1/track"), content);
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException) { return false; }
            catch (TaskCanceledException) { return false; }
        }
    }

    private sealed record Sample(double T, int Slot, ProcessorState State);

    /// <summary>GET /api/profiles/processor of every live host every 50 ms; times in seconds since the sampler started.</summary>
    private sealed class Sampler(HostProcess[] slots)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<Sample> _samples = [];
        // (time, the newest log head any host had reported by then): both only grow
        private readonly List<(double T, long Head)> _heads = [];

        public double Now => _clock.Elapsed.TotalSeconds;

        public async Task RunAsync(CancellationToken stop)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
            while (await timer.WaitForNextTickAsync(stop))
            {
                await Task.WhenAll(Enumerable.Range(0, slots.Length).Select(async slot =>
                {
                    var host = slots[slot];
                    if (!host.Alive) return;
                    try
                    {
                        var state = await host.StatusAsync(stop);
                        lock (_samples)
                        {
                            var t = Math.Max(Now, _heads.Count > 0 ? _heads[^1].T : 0);
                            _samples.Add(new Sample(t, slot, state));
                            _heads.Add((t, Math.Max(state.LogHead, _heads.Count > 0 ? _heads[^1].Head : 0)));
                        }
                    }
                    catch (Exception) when (!stop.IsCancellationRequested) { /* killed or being replaced */ }
                }));
            }
        }

        public List<Sample> Window(double from, double to)
        {
            lock (_samples) return _samples.Where(s => s.T >= from && s.T <= to).ToList();
        }

        /// <summary>The newest log head any host had reported by <paramref name="t"/> (each host's view of the one log).</summary>
        public long HeadAt(double t)
        {
            lock (_samples)
            {
                var i = Last(x => x.T <= t);
                return i < 0 ? 0 : _heads[i].Head;
            }
        }

        /// <summary>Events behind the head: the checkpoint no lower than <paramref name="floor"/> (the stored one at the death).</summary>
        public long LagEvents(Sample s, long floor) => Math.Max(0, HeadAt(s.T) - Math.Max(s.State.Checkpoint, floor));

        /// <summary>
        /// The age of the oldest unprocessed event: the time since the log head first passed the checkpoint (to within the
        /// 50 ms sampling); 0 when nothing waits.
        /// </summary>
        public double LagSeconds(Sample s, long floor)
        {
            var checkpoint = Math.Max(s.State.Checkpoint, floor);
            lock (_samples)
            {
                if (HeadAt(s.T) <= checkpoint) return 0;
                var first = Last(x => x.Head <= checkpoint) + 1; // the first time the head was past the checkpoint
                return first < _heads.Count ? Math.Max(0, s.T - _heads[first].T) : 0;
            }
        }

        /// <summary>The last index of _heads where <paramref name="before"/> holds (it holds on a prefix), or -1.</summary>
        private int Last(Func<(double T, long Head), bool> before)
        {
            int lo = 0, hi = _heads.Count - 1, found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) / 2;
                if (before(_heads[mid])) { found = mid; lo = mid + 1; }
                else hi = mid - 1;
            }
            return found;
        }
    }

    // ---------------------------------------------------------------- CPU: who used the two cores

    /// <summary>Cores busy over a load (CPU seconds per second): each Cdp host, every postgres process, this process, the machine.</summary>
    private sealed record CpuUsage(double[] Hosts, double Postgres, double Bench, double Wrk, double Machine)
    {
        /// <summary>Everything else on the machine: other processes (another engineer's builds and tests).</summary>
        public double Others => Math.Max(0, Machine - Hosts.Sum() - Postgres - Bench - Wrk);

        public override string ToString() =>
            $"cores busy: Cdp {string.Join(" + ", Hosts.Select(h => h.ToString("0.00")))}, PostgreSQL {Postgres:0.00}, wrk {Wrk:0.00}, bench process {Bench:0.00}, " +
            $"other processes {Others:0.00}; machine {Machine:0.00} of {Environment.ProcessorCount}";
    }

    private sealed class CpuSnapshot
    {
        private TimeSpan[] _hosts = [];
        private Dictionary<int, TimeSpan> _postgres = [];
        private TimeSpan _bench;
        private TimeSpan _children;
        private (long Busy, long Total) _machine;
        private long _at;

        public static CpuSnapshot Take(IReadOnlyList<HostProcess> hosts) => new()
        {
            _hosts = hosts.Select(h => h.Cpu).ToArray(),
            _postgres = Postgres(),
            _bench = Process.GetCurrentProcess().TotalProcessorTime,
            _children = ReapedChildren(),
            _machine = Machine(),
            _at = Stopwatch.GetTimestamp(),
        };

        public CpuUsage Since(IReadOnlyList<HostProcess> hosts)
        {
            var seconds = Stopwatch.GetElapsedTime(_at).TotalSeconds;
            var postgres = Postgres().Sum(p => (p.Value - _postgres.GetValueOrDefault(p.Key)).TotalSeconds); // a backend gone meanwhile is not counted
            var (busy, total) = Machine();
            var machine = total > _machine.Total ? (double)(busy - _machine.Busy) / (total - _machine.Total) * Environment.ProcessorCount : 0;
            return new CpuUsage(hosts.Select((h, i) => (h.Cpu - _hosts[i]).TotalSeconds / seconds).ToArray(), postgres / seconds,
                (Process.GetCurrentProcess().TotalProcessorTime - _bench).TotalSeconds / seconds, (ReapedChildren() - _children).TotalSeconds / seconds, machine);
        }

        /// <summary>
        /// CPU time of every process named postgres (the server's backends and workers; any cluster on this machine), read from
        /// /proc/&lt;pid&gt;/stat: utime and stime, in clock ticks of 1/100 s.
        /// </summary>
        private static Dictionary<int, TimeSpan> Postgres()
        {
            var cpu = new Dictionary<int, TimeSpan>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var open = stat.IndexOf('(');
                    var close = stat.LastIndexOf(')');
                    if (open < 0 || close < open || stat[(open + 1)..close] != "postgres") continue;
                    var fields = stat[(close + 2)..].Split(' ');
                    cpu[pid] = TimeSpan.FromMilliseconds((long.Parse(fields[11]) + long.Parse(fields[12])) * 10);
                }
                catch (Exception) { /* gone */ }
            }
            return cpu;
        }

        /// <summary>
        /// CPU time of this process's children that ended and were waited for (cutime + cstime of /proc/self/stat): over a load,
        /// the wrk processes (the Cdp hosts are still running, so not in it).
        /// </summary>
        private static TimeSpan ReapedChildren()
        {
            try
            {
                var stat = File.ReadAllText("/proc/self/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return TimeSpan.FromMilliseconds((long.Parse(fields[13]) + long.Parse(fields[14])) * 10);
            }
            catch (Exception)
            {
                return TimeSpan.Zero;
            }
        }

        /// <summary>/proc/stat's first line: busy and total jiffies of every core.</summary>
        private static (long Busy, long Total) Machine()
        {
            try
            {
                var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
                var total = fields.Sum();
                return (total - fields[3] - fields[4], total); // idle and iowait
            }
            catch (Exception)
            {
                return (0, 0);
            }
        }
    }
}

using System.Diagnostics;
using Cdp.Host;
using Cdp.Modules.Collection.EventLog;
using Cdp.Modules.Pipeline.Contracts;
using Cdp.Modules.Shared.Storage.Copy;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Cdp.Bench;

/// <summary>
/// <c>storage copy</c> from LiteDB to PostgreSQL (CDP_BENCH_POSTGRES): a LiteDB installation made by the processor from
/// the processing benchmark's mixed stream (with two segments), copied into a fresh database and verified, as the verb
/// does. Ceiling, same run: reading every record set of the LiteDB installation once with its checksum (what a copy
/// cannot do without); the copy reads the source, writes the target and reads the target back.
/// </summary>
public sealed class StorageCopyBench : IBenchScenario
{
    public string Name => "StorageCopy";

    public async Task<IReadOnlyList<BenchFigure>> RunAsync(BenchContext context)
    {
        var target = await BenchPostgres.CreateDatabaseAsync();
        if (target is null)
        {
            Console.WriteLine($"   skipped: {BenchPostgres.WhyNot}");
            return [];
        }
        var events = context.Quick ? 100_000 : 1_000_000;
        var visitors = events / 10;
        string[] settings =
        [
            "--Cdp:Storage:Path=" + Path.Combine(context.WorkFolder, "cdp.db"), "--Logging:LogLevel:Default=Warning", "--Cdp:Scheduling:ServerEnabled=false",
            "--Cdp:Segments:buyers:Where=performed \"Order Completed\" at least 1 time", "--Cdp:Segments:known:Where=traits.email exists",
        ];
        await using (var app = CdpApp.Build(CdpApp.CreateBuilder(settings)))
        {
            var writer = app.Services.GetServices<IHostedService>().OfType<EventLogWriter>().Single();
            var processor = (IHostedService)app.Services.GetRequiredService<IProfileProcessor>();
            await writer.StartAsync(CancellationToken.None);
            var stream = new ProcessingBench.MixedStream(visitors, seed: 20260101);
            for (var done = 0; done < events; done += 5_000) await writer.SubmitAsync(stream.Next(Math.Min(5_000, events - done)), []);
            await processor.StartAsync(CancellationToken.None);
            await app.Services.GetRequiredService<IProfileProcessor>().WaitForCheckpointAsync(events, CancellationToken.None);
            await processor.StopAsync(CancellationToken.None);
            await writer.StopAsync(CancellationToken.None);
        }

        await using var source = CdpApp.Build(CdpApp.CreateBuilder(settings));
        var read = Stopwatch.StartNew();
        var sets = StorageCopier.Checksums(source.Services);
        read.Stop();
        var records = sets.Sum(s => s.Records);
        Console.WriteLine($"   LiteDB installation: {records:N0} records in {sets.Count} sets ({string.Join(", ", sets.OrderByDescending(s => s.Records).Take(5).Select(s => $"{s.Module} {s.Name} {s.Records:N0}"))}, ...)");

        await using var copy = CdpApp.Build(CdpApp.CreateBuilder([.. settings, "--Cdp:Storage:Provider=PostgreSql", "--Cdp:Storage:ConnectionString=" + target]));
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var run = Stopwatch.StartNew();
        var copied = StorageCopier.Copy(source.Services, copy.Services);
        run.Stop();
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        foreach (var slow in copied.Zip(sets).OrderByDescending(x => x.First.Records).Take(4))
            Console.WriteLine($"   {slow.First.Module} {slow.First.Name}: {slow.First.Records:N0} records");
        Console.WriteLine($"   copied and verified {copied.Sum(s => s.Records):N0} records ({events:N0} events, {visitors:N0} visitors) in {run.Elapsed.TotalSeconds:N1} s, " +
            $"{cpu / run.Elapsed.TotalSeconds:N2} Cdp cores busy (PostgreSQL's own CPU not counted)");
        return
        [
            new BenchFigure($"storage copy to PostgreSQL ({events:N0} events), records/s", records / run.Elapsed.TotalSeconds, "records/s",
                CeilingName: "read + checksum of the LiteDB source", Ceiling: records / read.Elapsed.TotalSeconds),
            new BenchFigure($"storage copy to PostgreSQL ({events:N0} events), time", run.Elapsed.TotalSeconds, "s", LowerIsBetter: true),
        ];
    }
}

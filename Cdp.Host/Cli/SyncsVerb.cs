using System.Net.Http.Headers;
using System.Net.Http.Json;
using Cdp.Modules.Activation.Contracts;
using Spectre.Console;

namespace Cdp.Host.Cli;

/// <summary>
/// cdp syncs list                                  syncs with destination, next and last run
/// cdp syncs runs &lt;sync&gt; [--limit 20]              the latest runs of a sync
/// cdp syncs run &lt;sync&gt; [--allow-mass-removal]     run now
/// cdp syncs dry-run &lt;sync&gt; [--full]               the diff, sample rows and first payload; sends nothing
/// cdp syncs resync &lt;sync&gt; [--allow-mass-removal]  full resync: every eligible member is sent again
/// With --server http://host:5080 --key &lt;admin key&gt; it asks a running server; without, it opens the database itself
/// (the server must not be running on it) with the job server off.
/// </summary>
internal static class SyncsVerb
{
    public const string Usage = "usage: syncs list | runs <sync> [--limit N] | run <sync> [--allow-mass-removal] | dry-run <sync> [--full] | resync <sync> [--allow-mass-removal]  [--server URL --key KEY]";

    /// <summary>The verb's parsed arguments (see CdpCommandLine): the action (list, runs, run, dry-run, resync) and its sync.</summary>
    internal sealed record SyncsArguments(string Action, string? Sync, int Limit, bool AllowMassRemoval, bool Full, string? Server, string? Key);

    public static async Task<int> RunAsync(SyncsArguments cli, string[] settings)
    {
        var action = cli.Action;
        var sync = cli.Sync;
        if (action != "list" && sync is null) throw new ArgumentException(Usage);
        var limit = cli.Limit;
        var allow = cli.AllowMassRemoval;
        SyncRunRequest? request = action switch
        {
            "run" => new SyncRunRequest("cli", AllowMassRemoval: allow),
            "dry-run" => new SyncRunRequest("cli", DryRun: true, FullResync: cli.Full),
            "resync" => new SyncRunRequest("cli", FullResync: true, AllowMassRemoval: allow),
            "list" or "runs" => null,
            _ => throw new ArgumentException(Usage),
        };

        if (cli.Server is { } server)
        {
            using var client = new HttpClient { BaseAddress = new Uri(server), Timeout = TimeSpan.FromHours(6) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", CliArgs.Required(cli.Key, "key"));
            switch (action)
            {
                case "list": PrintSyncs((await Get<List<SyncSummary>>(client, "/api/activation/syncs"))!); return 0;
                case "runs": PrintRuns((await Get<List<SyncRunReport>>(client, $"/api/activation/syncs/{Uri.EscapeDataString(sync!)}/runs?limit={limit}"))!); return 0;
            }
            var path = action switch
            {
                "run" => $"/api/activation/syncs/{Uri.EscapeDataString(sync!)}/run?allowMassRemoval={allow}",
                "dry-run" => $"/api/activation/syncs/{Uri.EscapeDataString(sync!)}/dry-run?full={request!.FullResync}",
                _ => $"/api/activation/syncs/{Uri.EscapeDataString(sync!)}/full-resync?allowMassRemoval={allow}",
            };
            using var response = await client.PostAsync(path, null);
            if (!response.IsSuccessStatusCode) throw new ArgumentException($"the server answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            return PrintRun((await response.Content.ReadFromJsonAsync<SyncRunReport>())!);
        }

        var builder = CdpApp.CreateBuilder([.. settings, "--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", "--Cdp:Scheduling:ServerEnabled=false"]);
        var app = CdpApp.Build(builder);
        await using (app)
        {
            CdpApp.ValidateSettings(app.Services);
            await app.StartAsync();
            var syncs = app.Services.GetRequiredService<ISyncOperations>();
            try
            {
                switch (action)
                {
                    case "list": PrintSyncs(syncs.List()); return 0;
                    case "runs":
                        if (syncs.Find(sync!) is null) throw new ArgumentException($"no sync '{sync}' (Cdp:Syncs)");
                        PrintRuns(syncs.Runs(sync!, limit));
                        return 0;
                }
                var report = await AnsiConsole.Status().StartAsync($"{action} {sync}...", _ => syncs.RunAsync(sync!, request!, CancellationToken.None));
                return PrintRun(report);
            }
            catch (KeyNotFoundException ex)
            {
                throw new ArgumentException(ex.Message);
            }
            finally
            {
                await app.StopAsync();
            }
        }
    }

    private static async Task<T?> Get<T>(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        if (!response.IsSuccessStatusCode) throw new ArgumentException($"the server answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<T>();
    }

    private static void PrintSyncs(IReadOnlyList<SyncSummary> syncs)
    {
        var table = new Table().AddColumns("sync", "segment", "destination", "mode", "schedule", "next run (UTC)", "last run", "members", "rejected");
        foreach (var s in syncs)
            table.AddRow(Markup.Escape(s.Name), Markup.Escape(s.Segment), Markup.Escape($"{s.Destination} ({s.DestinationType})"), s.Mode,
                Markup.Escape(s.Enabled ? $"{s.Cron} {s.TimeZone}" : "manual"), s.NextRun?.ToString("u") ?? "-",
                s.LastRunAt is { } at ? Markup.Escape($"{at:u} {s.LastRunStatus} (#{s.LastRunId})") : "never", s.Members.ToString("N0"), s.Rejected.ToString("N0"));
        AnsiConsole.Write(table);
    }

    private static void PrintRuns(IReadOnlyList<SyncRunReport> runs)
    {
        var table = new Table().AddColumns("run", "started (UTC)", "trigger", "status", "seconds", "+added", "~updated", "-removed", "retried", "rejected", "note");
        foreach (var r in runs)
            table.AddRow(r.Id.ToString(), r.StartedAt.ToString("u"), Markup.Escape(r.Trigger), Markup.Escape(r.Status), r.DurationSeconds.ToString("N1"),
                r.Counts.Added.ToString("N0"), r.Counts.Updated.ToString("N0"), r.Counts.Removed.ToString("N0"), r.Counts.Retried.ToString("N0"),
                r.Counts.Rejected.ToString("N0"), Markup.Escape(r.StoppedBecause ?? r.Errors.FirstOrDefault() ?? ""));
        AnsiConsole.Write(table);
    }

    private static int PrintRun(SyncRunReport r)
    {
        var c = r.Counts;
        AnsiConsole.MarkupLine($"run [bold]#{r.Id}[/] of [bold]{Markup.Escape(r.Sync)}[/]: [bold]{Markup.Escape(r.Status)}[/] in {r.DurationSeconds:N1} s");
        AnsiConsole.MarkupLine($"  members {c.Members:N0}, eligible {c.Eligible:N0} (no consent {c.SkippedNoConsent:N0}, no identifier {c.SkippedNoIdentifier:N0}, duplicate {c.SkippedDuplicateIdentifier:N0})");
        AnsiConsole.MarkupLine($"  [green]+{c.Added:N0}[/] added, ~{c.Updated:N0} updated, [red]-{c.Removed:N0}[/] removed, {c.Retried:N0} retried, {c.Unchanged:N0} unchanged, {c.Rejected:N0} rejected, {c.Batches:N0} batches");
        if (r.StoppedBecause is { } why) AnsiConsole.MarkupLine($"  [yellow]stopped:[/] {Markup.Escape(why)}");
        foreach (var e in r.Errors.Take(20)) AnsiConsole.MarkupLine($"  [red]error:[/] {Markup.Escape(e)}");
        if (r.Samples.Count > 0)
        {
            var table = new Table().AddColumns("action", "profile", "identifier", "fields");
            foreach (var s in r.Samples)
                table.AddRow(s.Action, s.ProfileId, Markup.Escape(s.Identifier), Markup.Escape(string.Join(", ", s.Fields.Select(f => $"{f.Key}={f.Value}"))));
            AnsiConsole.Write(table);
        }
        if (r.FirstPayload is { } payload)
        {
            AnsiConsole.MarkupLine("  first payload:");
            Console.WriteLine(payload.Length > 4000 ? payload[..4000] + "..." : payload);
        }
        return r.Status is SyncRunStatus.Failed ? 4 : r.Status is SyncRunStatus.Partial ? 3 : 0;
    }
}

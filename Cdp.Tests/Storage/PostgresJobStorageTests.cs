using Cdp.Host;
using Cdp.Modules.Scheduling;
using Cdp.Modules.Scheduling.Hosting;
using Cdp.Modules.Scheduling.Storage;
using Cdp.Modules.Scheduling.Storage.PostgreSql;
using Cdp.Tests.Scheduling;
using Cdp.Tests.Support;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Cdp.Tests.Storage;

/// <summary>
/// Jobs on PostgreSQL: with Cdp:Storage:Provider = PostgreSql the Scheduling module's storage is Hangfire.PostgreSql in the
/// schema cdp_hangfire (created by it), and a job enqueued through Cdp's own job machinery runs on the real cluster.
/// The host's services are built without starting the server (which refuses PostgreSQL in this version).
/// </summary>
public sealed class PostgresJobStorageTests
{
    [SkippableFact]
    public async Task On_PostgreSql_a_job_is_stored_in_cdp_hangfire_and_runs()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        using var folder = new TempFolder();
        await using var app = CdpApp.CreateBuilder([
            "--Cdp:Storage:Provider=PostgreSql", $"--Cdp:Storage:ConnectionString={database}", $"--Cdp:Storage:Path={folder.File("cdp.db")}",
            "--Cdp:Scheduling:QueuePollInterval=00:00:00.2", "--Logging:LogLevel:Default=Warning"]).Build();
        var storage = app.Services.GetRequiredService<JobStorage>();
        storage.Should().BeOfType<PostgreSqlStorage>();
        var machinery = app.Services.GetRequiredService<JobMachinery>();
        var token = Guid.NewGuid().ToString("N");

        var id = machinery.Client.Enqueue<E2EJobs>(j => j.Record(token, "ran on PostgreSQL"));
        using (var server = machinery.StartServer(app.Services.GetRequiredService<IOptions<SchedulingOptions>>().Value))
        {
            await Eventually.Until(() => E2EJobs.RunsOf(token).Count > 0, "the job to run");
            await Eventually.Until(() => storage.GetMonitoringApi().JobDetails(id)?.History.FirstOrDefault()?.StateName == SucceededState.StateName,
                "the job to be recorded as succeeded");
            server.SendStop();
        }

        E2EJobs.RunsOf(token).Should().Equal("ran on PostgreSQL");
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {PostgresJobStorage.Schema}.job WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", long.Parse(id, System.Globalization.CultureInfo.InvariantCulture));
        ((long)(await command.ExecuteScalarAsync())!).Should().Be(1, "the job is a row of Hangfire.PostgreSql's table in cdp_hangfire");
        File.Exists(folder.File(SchedulingOptions.DefaultJobsFileName)).Should().BeFalse("no LiteDB jobs file on PostgreSQL");
    }
}

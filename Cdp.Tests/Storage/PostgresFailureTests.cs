using Cdp.Modules.Pipeline.Processing;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Cdp.Tests.Support;
using Npgsql;

namespace Cdp.Tests.Storage;

/// <summary>
/// The processor retries a batch whose PostgreSQL failure is the environment's (a lost connection, a server going down) and
/// splits a batch whose failure is the data's, on real failures of the test cluster.
/// </summary>
public sealed class PostgresFailureTests
{
    [SkippableFact]
    public async Task A_connection_the_server_terminates_is_an_environmental_failure()
    {
        await using var data = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync());
        await using var connection = await data.OpenConnectionAsync();
        await using var kill = connection.CreateCommand();
        kill.CommandText = "SELECT pg_terminate_backend(pg_backend_pid())";
        var failure = await Record.ExceptionAsync(() => kill.ExecuteNonQueryAsync());

        failure.Should().BeAssignableTo<NpgsqlException>();
        BatchFailure.IsEnvironmental(failure!).Should().BeTrue($"the server ended the connection ({failure!.GetType().Name}: {failure.Message}): the batch is retried as it is");
    }

    [SkippableFact]
    public async Task A_data_error_is_not_an_environmental_failure()
    {
        await using var data = NpgsqlDataSource.Create(await PostgresServer.CreateDatabaseAsync());
        await using var divide = data.CreateCommand("SELECT 1 / 0");
        var failure = await Record.ExceptionAsync(() => divide.ExecuteScalarAsync());

        failure.Should().BeOfType<PostgresException>().Which.SqlState.Should().Be(PostgresErrorCodes.DivisionByZero);
        BatchFailure.IsEnvironmental(failure!).Should().BeFalse("the same data fails the same way every time: the batch is split");
    }

    [SkippableFact]
    public async Task A_server_that_is_not_there_is_an_environmental_failure()
    {
        var admin = new NpgsqlConnectionStringBuilder(await PostgresServer.AdminConnectionStringAsync()) { Port = 1, Timeout = 2 };
        using var database = new PostgresDatabase(admin.ConnectionString);
        var failure = Record.Exception(() => database.Open().Dispose());

        failure.Should().BeOfType<PostgresUnavailableException>();
        BatchFailure.IsEnvironmental(failure!).Should().BeTrue();
    }
}

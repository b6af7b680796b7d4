using Cdp.Modules.Shared.Storage.PostgreSql;
using Cdp.Tests.Support;
using Npgsql;

namespace Cdp.Tests.Storage;

/// <summary>The host's PostgreSQL handle: transactions that commit or roll back whole, and a clear error when the server is away.</summary>
public sealed class PostgresDatabaseTests
{
    private static long Count(PostgresDatabase database) =>
        database.InTransaction((c, t) => (long)new NpgsqlCommand("SELECT count(*) FROM item", c, t).ExecuteScalar()!);

    [SkippableFact]
    public async Task A_transaction_commits_all_its_writes_or_none_of_them()
    {
        await using var database = new PostgresDatabase(await PostgresServer.CreateDatabaseAsync());
        database.InTransaction((c, t) => new NpgsqlCommand("CREATE TABLE item(id int PRIMARY KEY)", c, t).ExecuteNonQuery());

        database.InTransaction((c, t) => new NpgsqlCommand("INSERT INTO item VALUES (1), (2)", c, t).ExecuteNonQuery()).Should().Be(2);
        var failing = () => database.InTransaction((c, t) =>
        {
            new NpgsqlCommand("INSERT INTO item VALUES (3)", c, t).ExecuteNonQuery();
            throw new InvalidOperationException("the work fails after a write");
        });

        failing.Should().Throw<InvalidOperationException>().WithMessage("the work fails after a write");
        Count(database).Should().Be(2);
    }

    [SkippableFact]
    public async Task The_async_transaction_commits_and_rolls_back_the_same_way()
    {
        await using var database = new PostgresDatabase(await PostgresServer.CreateDatabaseAsync());
        await database.InTransactionAsync((c, t, ct) => new NpgsqlCommand("CREATE TABLE item(id int PRIMARY KEY)", c, t).ExecuteNonQueryAsync(ct));

        await database.InTransactionAsync((c, t, ct) => new NpgsqlCommand("INSERT INTO item VALUES (1)", c, t).ExecuteNonQueryAsync(ct));
        var failing = () => database.InTransactionAsync(async (c, t, ct) =>
        {
            await new NpgsqlCommand("INSERT INTO item VALUES (2)", c, t).ExecuteNonQueryAsync(ct);
            await new NpgsqlCommand("INSERT INTO item VALUES (1)", c, t).ExecuteNonQueryAsync(ct); // duplicate key
        });

        (await failing.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.UniqueViolation);
        Count(database).Should().Be(1);
    }

    [Fact]
    public async Task Opening_a_connection_to_a_server_that_is_not_there_is_PostgresUnavailable_without_the_password()
    {
        await using var database = new PostgresDatabase($"Host=127.0.0.1;Port={CdpProcess.FreePort()};Username=cdp;Password=s3cret-pw;Timeout=5");

        var open = () => database.Open();
        var openAsync = async () => await database.OpenAsync();

        open.Should().Throw<PostgresUnavailableException>().Which.Message.Should().Contain("cannot connect to PostgreSQL").And.NotContain("s3cret-pw");
        (await openAsync.Should().ThrowAsync<PostgresUnavailableException>()).Which.InnerException.Should().BeAssignableTo<NpgsqlException>();
    }
}

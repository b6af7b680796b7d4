using Cdp.Tests.Support;
using Npgsql;

namespace Cdp.Tests.Storage;

/// <summary>The PostgreSQL fixture the provider's tests stand on (<see cref="PostgresServer"/>): one server, a fresh database per test.</summary>
public sealed class PostgresServerTests
{
    private static async Task<T> Scalar<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    [SkippableFact]
    public async Task Two_databases_from_the_fixture_are_empty_and_independent_of_each_other()
    {
        var first = await PostgresServer.CreateDatabaseAsync();
        var second = await PostgresServer.CreateDatabaseAsync();

        new NpgsqlConnectionStringBuilder(first).Database.Should().NotBe(new NpgsqlConnectionStringBuilder(second).Database);
        await Scalar<int>(first, "CREATE TABLE marker(id int); INSERT INTO marker VALUES (7); SELECT id FROM marker");

        (await Scalar<long>(first, "SELECT count(*) FROM marker")).Should().Be(1);
        (await Scalar<long>(second, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).Should().Be(0, "a fresh database has no tables");
    }

    [SkippableFact]
    public async Task A_database_answers_over_loopback_tcp()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        var builder = new NpgsqlConnectionStringBuilder(database);
        Skip.If(builder.Host is null || builder.Host.StartsWith('/'), $"{PostgresServer.Variable} names a unix socket");

        var address = await Scalar<System.Net.IPAddress>(database, "SELECT inet_server_addr()");
        System.Net.IPAddress.IsLoopback(address).Should().BeTrue($"{builder.Host} is the loopback interface");
        (await Scalar<string>(database, "SELECT current_database()")).Should().Be(builder.Database);
    }

    [SkippableFact]
    public async Task The_throwaway_cluster_answers_over_its_unix_socket_with_fsync_on()
    {
        var socket = await PostgresServer.SocketFolderAsync();
        Skip.If(socket is null, $"{PostgresServer.Variable} names an existing server: its socket and settings are its own");
        var database = await PostgresServer.CreateDatabaseAsync();
        var overSocket = new NpgsqlConnectionStringBuilder(database) { Host = socket }.ConnectionString;

        (await Scalar<object>(overSocket, "SELECT inet_server_addr()")).Should().Be(DBNull.Value, "a unix socket connection has no server address");
        (await Scalar<string>(overSocket, "SHOW fsync")).Should().Be("on", "the tests of durability need real fsyncs");
        (await Scalar<string>(overSocket, "SELECT current_database()")).Should().Be(new NpgsqlConnectionStringBuilder(database).Database);
    }

    [Fact]
    public void Without_PostgreSQL_binaries_a_test_is_skipped_saying_what_to_install_and_fails_under_CI()
    {
        PostgresServer.MissingBinaries(ci: false).Should().BeOfType<SkipException>().Which.Message.Should()
            .Contain("apt-get install postgresql").And.Contain(PostgresServer.Variable);
        PostgresServer.MissingBinaries(ci: true).Should().BeOfType<InvalidOperationException>().Which.Message.Should()
            .StartWith("CI=true").And.Contain("apt-get install postgresql");
    }

    [SkippableFact]
    public void The_binaries_found_on_this_machine_are_a_folder_with_initdb_pg_ctl_and_postgres()
    {
        var bin = PostgresServer.FindBinaries();
        Skip.If(bin is null, "no PostgreSQL binaries on this machine");
        foreach (var tool in new[] { "initdb", "pg_ctl", "postgres" }) File.Exists(Path.Combine(bin!, tool)).Should().BeTrue(tool);
    }
}

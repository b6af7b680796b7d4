using Cdp.Host.Cli;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Cdp.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Cdp.Tests.Storage;

/// <summary>
/// <c>Cdp.Host migrate [--dry-run]</c>: the built host as a process against the real cluster, and the verb in-process with a
/// test module's schema registered through DI (this build has no module migrations of its own yet).
/// </summary>
public sealed class MigrateVerbTests
{
    private const string Secret = "s3cret-pw";

    private sealed class TestSchema(params SchemaMigration[] migrations) : IPostgresSchema
    {
        public IEnumerable<SchemaMigration> Migrations => migrations;
    }

    private static readonly SchemaMigration Orders1 = new("Orders", 1, "orders table", "CREATE TABLE orders(id bigint PRIMARY KEY)");
    private static readonly SchemaMigration Orders2 = new("Orders", 2, "orders total", "ALTER TABLE orders ADD COLUMN total numeric");

    private static string[] Settings(string connectionString, TempFolder folder) =>
        ["--Cdp:Storage:Provider=PostgreSql", $"--Cdp:Storage:ConnectionString={connectionString}", $"--Cdp:Storage:Path={folder.File("cdp.db")}"];

    private static bool HasTable(string connectionString, string table)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand($"SELECT to_regclass('{table}') IS NOT NULL", connection);
        return (bool)command.ExecuteScalar()!;
    }

    private static async Task<(int Code, string Output, string Error)> Migrate(bool dryRun, string connectionString, TempFolder folder, params SchemaMigration[] migrations)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await MigrateVerb.RunAsync(dryRun, Settings(connectionString, folder), output, error,
            services => services.AddSingleton<IPostgresSchema>(new TestSchema(migrations)));
        return (code, output.ToString(), error.ToString());
    }

    [SkippableFact]
    public async Task Migrate_prints_each_pending_migration_applies_it_and_a_second_run_finds_the_schema_up_to_date()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        using var folder = new TempFolder();

        var (code, output, error) = await Migrate(false, database, folder, Orders2, Orders1);

        code.Should().Be(0, error);
        // the modules' own migrations (Collection's tables) come with the test's
        var applying = output.Split('\n').Count(l => l.Contains("applying ", StringComparison.Ordinal));
        output.Should().Contain($"{applying} pending migration(s)").And.Contain("applying Orders 1: orders table").And.Contain("applying Orders 2: orders total")
            .And.Contain("applying Collection 1: ").And.Contain($"done: {applying} migration(s) applied");
        HasTable(database, "cdp_event_log").Should().BeTrue();
        output.IndexOf("Orders 1", StringComparison.Ordinal).Should().BeLessThan(output.IndexOf("Orders 2", StringComparison.Ordinal));
        HasTable(database, "orders").Should().BeTrue();

        var again = await Migrate(false, database, folder, Orders1, Orders2);
        again.Code.Should().Be(0, again.Error);
        again.Output.Should().Contain("the schema is up to date").And.NotContain("applying");
    }

    [SkippableFact]
    public async Task Migrate_dry_run_prints_what_it_would_apply_and_changes_nothing()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        using var folder = new TempFolder();

        var (code, output, error) = await Migrate(true, database, folder, Orders1);

        code.Should().Be(0, error);
        output.Should().Contain("would apply Orders 1: orders table").And.Contain("dry run: nothing was applied");
        HasTable(database, "orders").Should().BeFalse();
        HasTable(database, SchemaMigrator.Table).Should().BeFalse();
    }

    [SkippableFact]
    public async Task A_failing_migration_exits_1_naming_it()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        using var folder = new TempFolder();

        var (code, output, error) = await Migrate(false, database, folder, Orders1, Orders2 with { Sql = "ALTER TABLE no_such_table ADD COLUMN x int" });

        code.Should().Be(MigrateVerb.MigrationFailed);
        output.Should().Contain("applying Orders 1").And.Contain("applying Orders 2");
        error.Should().Contain("migrate: PostgreSQL schema migration Orders 2 (orders total) failed and was rolled back").And.Contain("no_such_table");
        HasTable(database, "orders").Should().BeTrue("Orders 1 stays applied");
    }

    [SkippableFact]
    public async Task The_built_host_migrates_a_fresh_database_and_exits_0()
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        using var folder = new TempFolder();

        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, ["migrate", .. Settings(database, folder)]);

        code.Should().Be(0, output);
        output.Should().Contain("PostgreSQL Host=");
        HasTable(database, SchemaMigrator.Table).Should().BeTrue("migrate creates the table that records the schema's versions");
        File.Exists(folder.File("cdp.db")).Should().BeFalse("migrate on PostgreSQL opens no LiteDB file");

        var (dryCode, dryOutput) = await CdpProcess.RunToExitAsync(folder.Path, ["migrate", "--dry-run", .. Settings(database, folder)]);
        dryCode.Should().Be(0, dryOutput);
        dryOutput.Should().Contain("the schema is up to date");
    }

    [Fact]
    public async Task Migrate_exits_6_naming_the_database_without_its_password_when_PostgreSQL_cannot_be_reached()
    {
        using var folder = new TempFolder();
        var nobody = $"Host=127.0.0.1;Port={CdpProcess.FreePort()};Database=cdp;Username=cdp;Password={Secret};Timeout=5";

        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, ["migrate", .. Settings(nobody, folder)]);

        code.Should().Be(6, output);
        output.Should().Contain("migrate: cannot connect to PostgreSQL (Host=127.0.0.1").And.Contain("Password=***");
        output.Should().NotContain(Secret);
    }

    [Fact]
    public async Task Migrate_on_LiteDb_says_there_is_nothing_to_migrate_and_exits_0()
    {
        using var folder = new TempFolder();

        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, "migrate", $"--Cdp:Storage:Path={folder.File("cdp.db")}");

        code.Should().Be(0, output);
        output.Should().Contain("LiteDB needs no migrations");
        File.Exists(folder.File("cdp.db")).Should().BeFalse();
    }
}

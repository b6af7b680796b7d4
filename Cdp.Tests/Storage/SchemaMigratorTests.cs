using Cdp.Modules.Shared.Storage.PostgreSql;
using Cdp.Tests.Support;
using Npgsql;

namespace Cdp.Tests.Storage;

/// <summary>Versioned schema migrations on a real PostgreSQL database (<see cref="PostgresServer"/>), each test on a fresh one.</summary>
public sealed class SchemaMigratorTests
{
    private sealed class TestSchema(params SchemaMigration[] migrations) : IPostgresSchema
    {
        public IEnumerable<SchemaMigration> Migrations => migrations;
    }

    private static readonly SchemaMigration Alpha1 = new("Alpha", 1, "alpha table", "CREATE TABLE alpha(id int PRIMARY KEY)");
    private static readonly SchemaMigration Beta1 = new("Beta", 1, "beta table", "CREATE TABLE beta(id int PRIMARY KEY)");
    // needs Beta 1 first: applied out of order it fails
    private static readonly SchemaMigration Beta2 = new("Beta", 2, "beta name column", "ALTER TABLE beta ADD COLUMN name text NOT NULL DEFAULT ''; INSERT INTO beta(id, name) VALUES (1, 'two')");

    private static SchemaMigrator Migrator(PostgresDatabase database, params SchemaMigration[] migrations) => new(database, [new TestSchema(migrations)]);

    private static async Task<PostgresDatabase> FreshDatabase() => new(await PostgresServer.CreateDatabaseAsync());

    private static T Scalar<T>(PostgresDatabase database, string sql)
    {
        using var connection = database.Open();
        using var command = new NpgsqlCommand(sql, connection);
        return (T)command.ExecuteScalar()!;
    }

    private static List<string> AppliedRows(PostgresDatabase database)
    {
        using var connection = database.Open();
        using var command = new NpgsqlCommand("SELECT module || ' ' || version || ' ' || name || ' ' || checksum FROM cdp_schema_migrations ORDER BY module, version", connection);
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read()) rows.Add(reader.GetString(0));
        return rows;
    }

    private static string Row(SchemaMigration m) => $"{m.Module} {m.Version} {m.Name} {SchemaMigrator.Checksum(m)}";

    [SkippableFact]
    public async Task Pending_migrations_apply_in_module_then_version_order_each_recorded_with_its_checksum()
    {
        await using var database = await FreshDatabase();
        var migrator = Migrator(database, Beta2, Alpha1, Beta1); // registered in any order

        migrator.Plan().Should().Equal(Alpha1, Beta1, Beta2);
        var told = new List<SchemaMigration>();
        migrator.Apply(told.Add).Should().Equal(Alpha1, Beta1, Beta2);

        told.Should().Equal(Alpha1, Beta1, Beta2);
        AppliedRows(database).Should().Equal(Row(Alpha1), Row(Beta1), Row(Beta2));
        Scalar<string>(database, "SELECT name FROM beta WHERE id = 1").Should().Be("two");
        Scalar<bool>(database, "SELECT bool_and(applied_at <= now()) FROM cdp_schema_migrations").Should().BeTrue();
    }

    [SkippableFact]
    public async Task A_second_run_applies_nothing_and_a_later_build_applies_only_its_new_migrations()
    {
        await using var database = await FreshDatabase();
        Migrator(database, Alpha1, Beta1).Apply();

        var again = Migrator(database, Alpha1, Beta1);
        again.Plan().Should().BeEmpty();
        again.Apply().Should().BeEmpty();

        var later = Migrator(database, Alpha1, Beta1, Beta2);
        later.Plan().Should().Equal(Beta2);
        later.Apply().Should().Equal(Beta2);
        AppliedRows(database).Should().HaveCount(3);
    }

    [SkippableFact]
    public async Task Planning_writes_nothing_to_a_fresh_database()
    {
        await using var database = await FreshDatabase();

        Migrator(database, Alpha1).Plan().Should().Equal(Alpha1);

        Scalar<bool>(database, "SELECT to_regclass('cdp_schema_migrations') IS NULL").Should().BeTrue();
    }

    [SkippableFact]
    public async Task Two_hosts_migrating_at_once_apply_each_migration_once()
    {
        var connectionString = await PostgresServer.CreateDatabaseAsync();
        // not idempotent: a second CREATE TABLE fails, a second INSERT doubles the count; pg_sleep keeps both hosts in the race
        var migrations = Enumerable.Range(1, 6).Select(v => new SchemaMigration("Race", v, $"step {v}",
            (v == 1 ? "CREATE TABLE race(step int PRIMARY KEY); " : "") + $"SELECT pg_sleep(0.05); CREATE TABLE race_{v}(id int); INSERT INTO race VALUES ({v})")).ToArray();
        await using var first = new PostgresDatabase(connectionString);
        await using var second = new PostgresDatabase(connectionString); // a pool of its own, as another host has
        using var start = new Barrier(2);

        var runs = await Task.WhenAll(new[] { first, second }.Select(db => Task.Run(() =>
        {
            var migrator = Migrator(db, migrations);
            start.SignalAndWait();
            return migrator.Apply();
        })));

        runs.SelectMany(r => r).Should().BeEquivalentTo(migrations, "every migration was applied by exactly one of them");
        runs[0].Intersect(runs[1]).Should().BeEmpty();
        Scalar<long>(first, "SELECT count(*) FROM race").Should().Be(6);
        AppliedRows(first).Should().HaveCount(6);
    }

    [SkippableFact]
    public async Task A_failing_migration_is_rolled_back_alone_names_itself_and_leaves_the_earlier_ones_applied()
    {
        await using var database = await FreshDatabase();
        var broken = new SchemaMigration("Alpha", 2, "alpha audit", "CREATE TABLE alpha_audit(id int); SELECT no_such_function()");
        var third = new SchemaMigration("Alpha", 3, "alpha index", "CREATE INDEX alpha_id ON alpha(id)");

        var act = () => Migrator(database, Alpha1, broken, third).Apply();

        act.Should().Throw<SchemaMigrationException>().Which.Message.Should()
            .Contain("Alpha 2 (alpha audit)").And.Contain("rolled back").And.Contain("no_such_function");
        AppliedRows(database).Should().Equal(Row(Alpha1));
        Scalar<bool>(database, "SELECT to_regclass('alpha') IS NOT NULL").Should().BeTrue();
        Scalar<bool>(database, "SELECT to_regclass('alpha_audit') IS NULL").Should().BeTrue("the failed migration's first statement is rolled back too");

        var fixedBuild = Migrator(database, Alpha1, broken with { Sql = "CREATE TABLE alpha_audit(id int)" }, third);
        fixedBuild.Plan().Should().HaveCount(2);
        fixedBuild.Apply().Select(m => m.Version).Should().Equal(2, 3);
    }

    [SkippableFact]
    public async Task A_database_migrated_by_a_newer_Cdp_is_refused_and_left_as_it_is()
    {
        await using var database = await FreshDatabase();
        Migrator(database, Beta1, Beta2).Apply();

        var older = Migrator(database, Alpha1, Beta1); // knows neither Beta 2 nor has reason to touch anything

        older.Invoking(m => m.Plan()).Should().Throw<SchemaMigrationException>().Which.Message.Should()
            .Contain("Beta 2 (beta name column)").And.ContainEquivalentOf("refusing to downgrade");
        older.Invoking(m => m.Apply()).Should().Throw<SchemaMigrationException>();
        AppliedRows(database).Should().Equal(Row(Beta1), Row(Beta2));
        Scalar<bool>(database, "SELECT to_regclass('alpha') IS NULL").Should().BeTrue("Alpha 1 was not applied by the refused run");
    }

    [SkippableFact]
    public async Task A_migration_edited_after_it_was_applied_is_refused_by_its_checksum()
    {
        await using var database = await FreshDatabase();
        Migrator(database, Alpha1).Apply();

        var edited = Migrator(database, Alpha1 with { Sql = "CREATE TABLE alpha(id bigint PRIMARY KEY)" });

        edited.Invoking(m => m.Plan()).Should().Throw<SchemaMigrationException>().Which.Message.Should()
            .Contain("Alpha 1 (alpha table)").And.Contain("edited");
        edited.Invoking(m => m.Apply()).Should().Throw<SchemaMigrationException>();
    }

    [Fact]
    public void The_same_SQL_with_CRLF_line_ends_has_the_same_checksum_and_other_SQL_another()
    {
        var lf = Alpha1 with { Sql = "CREATE TABLE a(\n  id int)" };
        SchemaMigrator.Checksum(lf with { Sql = "CREATE TABLE a(\r\n  id int)" }).Should().Be(SchemaMigrator.Checksum(lf));
        SchemaMigrator.Checksum(lf with { Sql = "CREATE TABLE a(\n  id bigint)" }).Should().NotBe(SchemaMigrator.Checksum(lf));
    }

    [Theory]
    [InlineData(new[] { 1, 3 })]
    [InlineData(new[] { 2 })]
    [InlineData(new[] { 1, 1 })]
    public void A_build_whose_versions_do_not_run_1_2_3_without_gaps_is_a_programming_error(int[] versions)
    {
        using var database = new PostgresDatabase("Host=127.0.0.1;Database=unused"); // never connected
        var act = () => Migrator(database, [.. versions.Select(v => new SchemaMigration("Alpha", v, $"v{v}", "SELECT 1"))]);

        act.Should().Throw<InvalidOperationException>().WithMessage("*Alpha must be numbered 1, 2, 3*");
    }
}

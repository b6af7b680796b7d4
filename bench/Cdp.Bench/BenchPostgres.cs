using Npgsql;

namespace Cdp.Bench;

/// <summary>
/// The PostgreSQL the benchmark measures against: CDP_BENCH_POSTGRES (an admin connection string) names it; each scenario
/// gets a fresh database. Without it the PostgreSQL figures are skipped, saying why.
/// </summary>
internal static class BenchPostgres
{
    private static string? Admin => Environment.GetEnvironmentVariable("CDP_BENCH_POSTGRES");

    public static string WhyNot => "CDP_BENCH_POSTGRES (an admin connection string) is not set";

    public static async Task<string?> CreateDatabaseAsync()
    {
        if (Admin is null) return null;
        var name = "cdp_bench_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = NpgsqlDataSource.Create(Admin))
        await using (var cmd = admin.CreateCommand($"CREATE DATABASE {name}"))
            await cmd.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(Admin) { Database = name }.ConnectionString;
    }

    /// <summary>
    /// The host settings that put a host on a fresh PostgreSQL database, or null (and one line saying that
    /// <paramref name="what"/> is skipped, and why) without CDP_BENCH_POSTGRES.
    /// </summary>
    public static async Task<string[]?> HostSettingsAsync(string what)
    {
        if (await CreateDatabaseAsync() is not { } connectionString)
        {
            Console.WriteLine($"   {what} on PostgreSQL: skipped, {WhyNot}");
            return null;
        }
        return ["--Cdp:Storage:Provider=PostgreSql", "--Cdp:Storage:ConnectionString=" + connectionString];
    }

    /// <summary>Drops the database a connection string names (WITH (FORCE): connections left by killed hosts go too).</summary>
    public static async Task DropDatabaseAsync(string connectionString)
    {
        if (Admin is null) return;
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        NpgsqlConnection.ClearAllPools();
        await using var admin = NpgsqlDataSource.Create(Admin);
        await using var cmd = admin.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>The connection string in settings made by <see cref="HostSettingsAsync"/>.</summary>
    public static string? ConnectionString(IEnumerable<string> settings) =>
        settings.FirstOrDefault(s => s.StartsWith("--Cdp:Storage:ConnectionString=", StringComparison.Ordinal))?["--Cdp:Storage:ConnectionString=".Length..];

    /// <summary>The size of the database a connection string names (pg_database_size).</summary>
    public static long DatabaseBytes(string connectionString)
    {
        using var source = NpgsqlDataSource.Create(connectionString);
        using var cmd = source.CreateCommand("SELECT pg_database_size(current_database())");
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>
    /// A figure measured with the host on PostgreSQL, beside the same figure on LiteDB in the same run: named like it with a
    /// ", PostgreSQL" suffix, its ceiling the LiteDB figure, so the ratio is PostgreSQL / LiteDB. The target stays (the same
    /// bar applies); a ratio target does not (it was set against another ceiling).
    /// </summary>
    public static BenchFigure Beside(BenchFigure liteDb, BenchFigure postgreSql)
    {
        // the PostgreSQL run's own ceiling gives way to LiteDB's figure: print it, so it is not lost
        if (postgreSql is { Ratio: { } own, Ceiling: { } ceiling })
            Console.WriteLine($"   PostgreSQL run: {postgreSql.Name} {postgreSql.Value:N2} against {postgreSql.CeilingName} {ceiling:N2} {postgreSql.Unit} -> ratio {own:0.00}");
        return postgreSql with { Name = postgreSql.Name + ", PostgreSQL", CeilingName = "LiteDB, same run", Ceiling = liteDb.Value, RatioTarget = null };
    }

    /// <summary>Every PostgreSQL figure beside the LiteDB figure at the same place (the same measurement, run twice).</summary>
    public static IEnumerable<BenchFigure> Beside(IReadOnlyList<BenchFigure> liteDb, IReadOnlyList<BenchFigure> postgreSql) =>
        liteDb.Count != postgreSql.Count
            ? throw new InvalidOperationException($"{liteDb.Count} LiteDB figures against {postgreSql.Count} PostgreSQL figures")
            : postgreSql.Select((f, i) => Beside(liteDb[i], f));
}

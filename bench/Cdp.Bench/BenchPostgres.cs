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
}

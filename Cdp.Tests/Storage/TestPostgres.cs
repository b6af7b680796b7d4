using Npgsql;

namespace Cdp.Tests.Storage;

/// <summary>Placeholder until the shared PostgreSQL fixture lands: CDP_TEST_POSTGRES names an admin connection string.</summary>
internal static class TestPostgres
{
    private static string? Admin => Environment.GetEnvironmentVariable("CDP_TEST_POSTGRES");

    public static bool Available => Admin is not null;

    public static void SkipIfUnavailable() => Skip.If(Admin is null, "CDP_TEST_POSTGRES is not set");

    public static async Task<string> CreateDatabaseAsync()
    {
        if (Admin is null) return "Host=127.0.0.1;Database=none";
        var name = "cdp_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = NpgsqlDataSource.Create(Admin))
        await using (var cmd = admin.CreateCommand($"CREATE DATABASE {name}"))
            await cmd.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(Admin) { Database = name }.ConnectionString;
    }
}

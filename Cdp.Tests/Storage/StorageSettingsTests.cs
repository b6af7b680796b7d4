using Cdp.Modules.Shared.Configuration;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Cdp.Tests.Support;

namespace Cdp.Tests.Storage;

/// <summary>
/// Cdp:Storage:Provider and Cdp:Storage:ConnectionString: checked at start with messages that name the key (never the
/// password); the server and the verbs on PostgreSQL (schema at start, exit 6 when it cannot connect, one Cdp process per
/// database); backup and restore of files refusing PostgreSQL.
/// </summary>
public sealed class StorageSettingsTests
{
    private const string Secret = "s3cret-pw";

    private static List<string> Failures(string provider, string? connectionString = null)
    {
        var result = new StorageOptionsValidator().Validate(new StorageOptions { Provider = provider, ConnectionString = connectionString });
        return [.. SettingsValidation.Failures(result, StorageOptions.Section)];
    }

    [Theory]
    [InlineData("LiteDb")]
    [InlineData("litedb")]
    [InlineData("PostgreSql")]
    [InlineData("POSTGRESQL")]
    public void Provider_is_LiteDb_or_PostgreSql_in_any_case(string provider) =>
        Failures(provider, "Host=127.0.0.1;Database=cdp").Should().BeEmpty();

    [Theory]
    [InlineData("Mongo")]
    [InlineData("Postgres")]
    [InlineData("")]
    public void Any_other_provider_is_refused_naming_the_key_and_both_values(string provider) =>
        Failures(provider).Should().ContainSingle().Which.Should()
            .StartWith("Cdp:Storage:Provider: ").And.Contain("LiteDb").And.Contain("PostgreSql").And.Contain($"'{provider}'");

    [Fact]
    public void PostgreSql_without_a_connection_string_is_refused_naming_the_key() =>
        Failures("PostgreSql").Should().ContainSingle().Which.Should().StartWith("Cdp:Storage:ConnectionString: is required");

    [Fact]
    public void LiteDb_needs_no_connection_string() => Failures("LiteDb").Should().BeEmpty();

    [Theory]
    [InlineData("Host=db;Password=" + Secret + ";NoSuchKeyword=" + Secret, "does not parse")]
    [InlineData("Port=notanumber;Password=" + Secret, "does not parse")]
    [InlineData("Database=cdp;Username=cdp;Password=" + Secret, "must name the server with Host=")]
    public void A_connection_string_that_does_not_parse_or_lacks_Host_is_refused_without_repeating_it(string connectionString, string problem)
    {
        var failure = Failures("PostgreSql", connectionString).Should().ContainSingle().Which;
        failure.Should().StartWith("Cdp:Storage:ConnectionString: ").And.Contain(problem);
        failure.Should().NotContain(Secret);
    }

    [Fact]
    public void The_redacted_connection_string_keeps_where_it_points_and_hides_the_passwords()
    {
        var redacted = PostgresConnectionString.Redact($"Host=db.internal;Port=6432;Database=cdp;Username=cdp;Password={Secret};SSL Password={Secret}x");

        redacted.Should().Contain("Host=db.internal").And.Contain("Port=6432").And.Contain("Database=cdp").And.Contain("Username=cdp");
        redacted.Should().NotContain(Secret).And.Contain("Password=***");
        PostgresConnectionString.Redact($"Host=db;Password={Secret};Bogus").Should().NotContain(Secret, "not even when it does not parse");
    }

    [Fact]
    public async Task Check_config_exits_2_naming_the_provider_key_for_an_unknown_provider()
    {
        using var folder = new TempFolder();
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, "check-config", "--Cdp:Storage:Provider=Mongo", $"--Cdp:Storage:Path={folder.File("cdp.db")}");

        code.Should().Be(2, output);
        output.Should().Contain("Cdp:Storage:Provider: must be LiteDb (the default) or PostgreSql, was 'Mongo'");
    }

    [Fact]
    public async Task Check_config_accepts_PostgreSql_with_a_connection_string_and_never_prints_its_password()
    {
        using var folder = new TempFolder();
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, "check-config", "--Cdp:Storage:Provider=postgresql",
            $"--Cdp:Storage:ConnectionString=Host=127.0.0.1;Database=cdp;Username=cdp;Password={Secret}", $"--Cdp:Storage:Path={folder.File("cdp.db")}");

        code.Should().Be(0, output);
        output.Should().NotContain(Secret);
    }

    [Theory]
    [InlineData("backup", "backup: ", "backup and restore")]
    public async Task Backup_and_restore_of_files_refuse_PostgreSql_with_exit_2_and_open_no_LiteDB_file(string verb, string prefix, string what)
    {
        using var folder = new TempFolder();
        string[] args = [verb, .. verb == "backup" ? new[] { folder.File("copy") } : [],
            "--Cdp:Storage:Provider=PostgreSql", $"--Cdp:Storage:ConnectionString=Host=127.0.0.1;Username=cdp;Password={Secret}",
            $"--Cdp:Storage:Path={folder.File("cdp.db")}", "--urls=http://127.0.0.1:0"];
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, args);

        code.Should().Be(2, output);
        output.Should().Contain(prefix + "Cdp:Storage:Provider is PostgreSql, but this version of Cdp runs " + what)
            .And.Contain("on LiteDb only").And.Contain("PostgreSQL is a preview").And.Contain("migrate");
        output.Should().NotContain(Secret);
        File.Exists(folder.File("cdp.db")).Should().BeFalse("the refusal comes before the LiteDB file is opened");
    }

    [Fact]
    public async Task The_server_exits_6_when_PostgreSql_cannot_be_reached_naming_the_database_without_its_password_and_opens_no_LiteDB_file()
    {
        using var folder = new TempFolder();
        var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, "--Cdp:Storage:Provider=PostgreSql",
            $"--Cdp:Storage:ConnectionString=Host=127.0.0.1;Port=1;Username=cdp;Password={Secret};Timeout=3", $"--Cdp:Storage:Path={folder.File("cdp.db")}",
            "--urls=http://127.0.0.1:0", $"--Cdp:Sources:web:WriteKey={CdpHost.WriteKey}", $"--Cdp:Admin:ApiKeys:ops:Key={CdpHost.AdminKey}");

        code.Should().Be(PostgresUnavailableException.ExitCode, output);
        output.Should().Contain("Cdp cannot start: cannot connect to PostgreSQL (Host=127.0.0.1;Port=1;Username=cdp;Password=***")
            .And.Contain("Cdp:Storage:ConnectionString");
        output.Should().NotContain(Secret).And.NotContain("   at ", "a clear line, no stack trace");
        File.Exists(folder.File("cdp.db")).Should().BeFalse();
    }

    [SkippableFact]
    public async Task The_server_on_PostgreSql_creates_its_schema_at_start_serves_and_keeps_no_LiteDB_file()
    {
        using var folder = new TempFolder();
        var connectionString = await PostgresServer.CreateDatabaseAsync();
        using (var cdp = await CdpProcess.StartAsync(folder.Path, new Dictionary<string, string>
        {
            ["Cdp:Storage:Provider"] = "PostgreSql", ["Cdp:Storage:ConnectionString"] = connectionString,
        }))
        {
            using var http = new HttpClient { BaseAddress = cdp.BaseAddress };
            http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(CdpHost.WriteKey + ":")));
            (await http.PostAsync("/v1/identify", new StringContent("""{"userId":"ann","traits":{"email":"ann@example.com"}}""", System.Text.Encoding.UTF8, "application/json")))
                .IsSuccessStatusCode.Should().BeTrue();
            http.DefaultRequestHeaders.Authorization = new("Bearer", CdpHost.AdminKey);
            string? found = null;
            for (var i = 0; i < 100 && found is null; i++)
            {
                var response = await http.GetAsync("/api/profiles/email:ann@example.com");
                if (response.IsSuccessStatusCode) found = await response.Content.ReadAsStringAsync();
                else await Task.Delay(100);
            }
            found.Should().Contain("\"p_1\"", cdp.Output);
            cdp.Output.Should().Contain("PostgreSQL schema migrations applied");
        }
        var database = new PostgresDatabase(connectionString);
        await using (database)
        {
            using var cmd = database.DataSource.CreateCommand("SELECT string_agg(module, ',' ORDER BY module) FROM (SELECT DISTINCT module FROM cdp_schema_migrations) m");
            ((string)cmd.ExecuteScalar()!).Should().Be("Activation,Collection,Governance,Identity,Matching,Pipeline,Profiles,Segments");
        }
        File.Exists(folder.File("cdp.db")).Should().BeFalse("every module keeps its data in PostgreSQL");
    }

    [SkippableFact]
    public async Task On_PostgreSql_one_Cdp_process_uses_a_database_a_verb_waits_for_the_server_to_stop_and_then_works()
    {
        using var folder = new TempFolder();
        var connectionString = await PostgresServer.CreateDatabaseAsync();
        var settings = new Dictionary<string, string> { ["Cdp:Storage:Provider"] = "PostgreSql", ["Cdp:Storage:ConnectionString"] = connectionString };
        string[] verbArgs = ["reprocess", "--Cdp:Storage:Provider=PostgreSql", "--Cdp:Storage:ConnectionString=" + connectionString,
            $"--Cdp:Storage:Path={folder.File("cdp.db")}", $"--Cdp:Sources:web:WriteKey={CdpHost.WriteKey}", $"--Cdp:Admin:ApiKeys:ops:Key={CdpHost.AdminKey}"];
        using (var server = await CdpProcess.StartAsync(folder.Path, settings))
        {
            var tracking = server.TrackingClient();
            (await tracking.PostAsync("/v1/identify", new StringContent("""{"userId":"ann","traits":{"plan":"gold"}}""", System.Text.Encoding.UTF8, "application/json")))
                .IsSuccessStatusCode.Should().BeTrue();
            (await WaitForProfile(server.AdminClient())).Should().Contain("gold");

            var (code, output) = await CdpProcess.RunToExitAsync(folder.Path, verbArgs);
            code.Should().Be(DatabaseInUseException.ExitCode, output);
            output.Should().Contain("reprocess: the PostgreSQL database Host=").And.Contain("is in use by another Cdp process (pid " + server.Pid + ")");
            server.Kill();
        }

        var (after, log) = await CdpProcess.RunToExitAsync(folder.Path, verbArgs);
        after.Should().Be(0, log);
        using var again = await CdpProcess.StartAsync(folder.Path, settings);
        (await WaitForProfile(again.AdminClient())).Should().Contain("gold", "the verb rebuilt the profile from the log");
        File.Exists(folder.File("cdp.db")).Should().BeFalse();
    }

    private static async Task<string> WaitForProfile(HttpClient admin)
    {
        for (var i = 0; i < 100; i++)
        {
            var response = await admin.GetAsync("/api/profiles/user_id:ann");
            if (response.IsSuccessStatusCode) return await response.Content.ReadAsStringAsync();
            await Task.Delay(100);
        }
        return "";
    }
}

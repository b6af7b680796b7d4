using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Cdp.Tests.Support;

namespace Cdp.Tests.Governance;

/// <summary>Files holding everyone's data are the owner's alone, and backups land only in the backup root (issue 22, item 7).</summary>
public sealed class PrivateFilesTests
{
    /// <summary>LiteDB only, whatever CDP_TEST_PROVIDER says: about the permissions of LiteDB's files.</summary>
    private const string LiteDbOnlyBecause = "about the permissions of LiteDB's files";

    private const UnixFileMode OwnerFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_data_folder_is_created_0700_and_the_databases_logs_locks_key_and_backups_0600()
    {
        if (OperatingSystem.IsWindows()) return; // no Unix modes there
        using var temp = new TempFolder();
        var data = Path.Combine(temp.Path, "new", "data");
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, new Dictionary<string, string?> { ["Cdp:Storage:Path"] = Path.Combine(data, "cdp.db") });
        await host.TrackingClient().Send("track", """{"userId":"u-1","event":"Signed Up"}""");
        await host.Processed();
        var response = await host.AdminClient().PostAsJsonAsync("/api/admin/backup", new { folder = "nightly/one" });
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());

        File.GetUnixFileMode(data).Should().Be(OwnerFolder);
        File.GetUnixFileMode(Path.Combine(temp.Path, "new")).Should().Be(OwnerFolder, "missing parents are created 0700 too");
        var files = Directory.GetFiles(data, "*", SearchOption.AllDirectories);
        files.Select(Path.GetFileName).Should().Contain(["cdp.db", "cdp-jobs.db", "cdp.db.lock", "cdp.db.audit-key", "backup.json"]);
        files.Should().OnlyContain(f => File.GetUnixFileMode(f) == OwnerFile, "every file: " + string.Join(", ", files.Select(f => $"{f} {File.GetUnixFileMode(f)}")));
        foreach (var folder in new[] { "backups", "backups/nightly", "backups/nightly/one" })
            File.GetUnixFileMode(Path.Combine(data, folder)).Should().Be(OwnerFolder, folder);
    }

    [Fact]
    public async Task Backup_folders_outside_the_root_with_dot_dot_through_links_or_unusable_are_refused_400_with_one_message()
    {
        using var temp = new TempFolder();
        using var host = CdpHost.LiteDbOnly(LiteDbOnlyBecause, folder: temp);
        var root = Path.Combine(temp.Path, "backups");
        var elsewhere = Path.Combine(temp.Path, "elsewhere");
        Directory.CreateDirectory(root);
        Directory.CreateDirectory(elsewhere);
        if (!OperatingSystem.IsWindows()) Directory.CreateSymbolicLink(Path.Combine(root, "link"), elsewhere);
        File.WriteAllText(Path.Combine(root, "a-file"), "x");

        string[] refused =
        [
            "../escaped", "nightly/../../escaped", "..", ".", "/", "/etc", "/tmp/cdp-backup-elsewhere", elsewhere, temp.Path,
            "/nonexistent/folder/b1", "link", "link/inside", "a-file", "a-file/below", "bad\u0000name", "tab\tname",
            new string('x', 300), "a/" + new string('y', 256),
        ];
        var details = new HashSet<string>();
        foreach (var folder in refused)
        {
            var response = await host.AdminClient().PostAsJsonAsync("/api/admin/backup", new { folder });
            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, $"{folder}: {body}");
            details.Add(JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!);
        }
        details.Should().ContainSingle("the answer is the same whether the path exists, is a link or leaves the root: no existence oracle");
        Directory.EnumerateFileSystemEntries(elsewhere).Should().BeEmpty("nothing was written through the link");
        File.Exists(Path.Combine(temp.Path, "escaped")).Should().BeFalse();
        Directory.Exists(Path.Combine(temp.Path, "escaped")).Should().BeFalse();

        (await host.AdminClient().PostAsync("/api/admin/backup", new StringContent("""{"folder": 5}""", System.Text.Encoding.UTF8, "application/json")))
            .StatusCode.Should().Be(HttpStatusCode.BadRequest, "a folder that is not text");
        var ok = await host.AdminClient().PostAsJsonAsync("/api/admin/backup", new { folder = Path.Combine(root, "absolute-inside") });
        ok.StatusCode.Should().Be(HttpStatusCode.Created, await ok.Content.ReadAsStringAsync());
        var byDefault = await host.AdminClient().PostAsJsonAsync("/api/admin/backup", new { });
        byDefault.StatusCode.Should().Be(HttpStatusCode.Created, await byDefault.Content.ReadAsStringAsync());
        (await byDefault.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("folder").GetString().Should().StartWith(root + Path.DirectorySeparatorChar);
    }
}

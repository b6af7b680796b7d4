using System.Text.Json;
using System.Text.RegularExpressions;
using Cdp.Modules.Activation.Contracts;
using Cdp.Tests.Support;

namespace Cdp.Tests.Activation;

/// <summary>A deletion reaches the CSV files a sync wrote: local files are rewritten without the person, SFTP copies are listed.</summary>
public sealed class CsvErasureTests : IDisposable
{
    private readonly TempFolder _out = new();
    private ActivationHarness? _harness;

    private static readonly Person Jane = new("u-jane", "jane.doe@example.com", FirstName: "Janette");

    private ActivationHarness Start(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Cdp:Destinations:drop:Type"] = "CsvFile",
            ["Cdp:Destinations:drop:Folder"] = _out.Path,
            ["Cdp:Syncs:export:Segment"] = "vip",
            ["Cdp:Syncs:export:Destination"] = "drop",
            ["Cdp:Syncs:export:Enabled"] = "false",
            ["Cdp:Syncs:export:MaxRemovalShare"] = "1",
            ["Cdp:Syncs:export:FieldMappings:first_name"] = "traits.first_name",
        };
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return _harness = new ActivationHarness(settings);
    }

    public void Dispose()
    {
        _harness?.Dispose();
        _out.Dispose();
    }

    private string Everything() => string.Join("\n", Directory.GetFiles(_out.Path).Order(StringComparer.Ordinal).Select(File.ReadAllText));

    private static async Task<JsonElement> DeleteAndWait(ActivationHarness h, string userId)
    {
        var admin = h.Host.AdminClient();
        var deleted = await admin.DeleteAsync($"/api/privacy/profiles/{h.ProfileOf(userId)}");
        deleted.IsSuccessStatusCode.Should().BeTrue(await deleted.Content.ReadAsStringAsync());
        var receiptId = JsonDocument.Parse(await deleted.Content.ReadAsStringAsync()).RootElement.GetProperty("receiptId").GetString();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var receipt = JsonDocument.Parse(await admin.GetStringAsync($"/api/privacy/deletions/{receiptId}")).RootElement.Clone();
            if (receipt.GetProperty("followUp").GetProperty("syncs").GetProperty("complete").GetBoolean()) return receipt;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the erasure job did not finish: " + receipt);
            await Task.Delay(100);
        }
    }

    private static JsonElement Drop(JsonElement receipt) =>
        receipt.GetProperty("followUp").GetProperty("syncs").GetProperty("destinations").EnumerateArray().Single(d => d.GetProperty("destination").GetString() == "drop");

    [Fact]
    public async Task A_deletion_rewrites_every_local_file_without_the_person_and_the_next_removed_file_does_not_name_them()
    {
        var h = Start(new() { ["Cdp:Destinations:drop:Output"] = "Changes" });
        var ids = await h.SeedAsync([Jane, new Person("u-bob", "bob@example.com", FirstName: "Roberto"), new Person("u-cy", "cy@example.com", FirstName: "Cyrille")]);
        var janeId = h.ProfileOf("u-jane");
        h.Segments.Set("vip", ids);
        (await h.RunAsync("export", dryRun: true)).FirstPayload.Should().Contain("Janette", "the dry run stores its CSV preview");
        (await h.RunAsync("export")).Counts.Added.Should().Be(3);
        h.Segments.Set("vip", ids.Where(id => id != h.ProfileOf("u-cy")));
        (await h.RunAsync("export")).Counts.Removed.Should().Be(1);
        Everything().Should().Contain(Jane.Email).And.Contain("Janette");

        var receipt = await DeleteAndWait(h, "u-jane");

        var text = Everything();
        text.Should().NotContain(Jane.Email).And.NotContain("Janette");
        Regex.IsMatch(text, $@"\b{janeId}\b").Should().BeFalse("no row keeps the erased profile id");
        text.Should().Contain("bob@example.com").And.Contain("Roberto").And.Contain("cy@example.com", "only the person's rows go");
        var history = JsonSerializer.Serialize(h.Syncs.Runs("export", 10));
        history.Should().NotContain(Jane.Email).And.NotContain("Janette", "the stored CSV preview lost the person's row");
        history.Should().Contain("Roberto");
        var drop = Drop(receipt);
        drop.GetProperty("status").GetString().Should().Be("rewritten");
        drop.GetProperty("filesRewritten").EnumerateArray().Select(f => f.GetString()).Should().ContainSingle().Which.Should().EndWith("-added.csv");
        drop.TryGetProperty("remoteCopies", out _).Should().BeFalse("nothing was uploaded");

        var next = await h.RunAsync("export");

        next.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", next.Errors));
        next.Counts.Removed.Should().Be(0);
        Everything().Should().NotContain(Jane.Email, "the next run's -removed.csv does not carry the erased address");
        Directory.GetFiles(_out.Path, "*-removed.csv").Should().HaveCount(3, "one per run");
    }

    [SkippableFact]
    public async Task Copies_uploaded_by_SFTP_are_listed_in_the_receipt_as_outside_Cdps_reach_with_their_file_names()
    {
        Skip.If(LoopbackSshd.MissingReason is not null, LoopbackSshd.MissingReason);
        using var sshd = new LoopbackSshd();
        var h = Start(new()
        {
            ["Cdp:Destinations:drop:Sftp:Host"] = "127.0.0.1",
            ["Cdp:Destinations:drop:Sftp:Port"] = sshd.Port.ToString(),
            ["Cdp:Destinations:drop:Sftp:User"] = sshd.User,
            ["Cdp:Destinations:drop:Sftp:PrivateKeyPath"] = sshd.PrivateKeyPath,
            ["Cdp:Destinations:drop:Sftp:HostKeyFingerprint"] = sshd.HostKeyFingerprint,
            ["Cdp:Destinations:drop:Sftp:RemoteFolder"] = sshd.RemoteFolder,
        });
        var ids = await h.SeedAsync([Jane, new Person("u-bob", "bob@example.com")]);
        h.Segments.Set("vip", ids);
        var run = await h.RunAsync("export");
        run.Status.Should().Be(SyncRunStatus.Succeeded, string.Join("; ", run.Errors));
        var file = Path.GetFileName(Directory.GetFiles(_out.Path).Single());

        var receipt = await DeleteAndWait(h, "u-jane");

        Everything().Should().NotContain(Jane.Email);
        var remote = Drop(receipt).GetProperty("remoteCopies");
        remote.GetProperty("status").GetString().Should().Be("outside Cdp's reach");
        remote.GetProperty("host").GetString().Should().Be("127.0.0.1");
        remote.GetProperty("files").EnumerateArray().Select(f => f.GetString()).Should().Equal(file);
        (await File.ReadAllTextAsync(Path.Combine(sshd.RemoteFolder, file))).Should().Contain(Jane.Email, "Cdp cannot change the remote copy: the receipt says so");
    }
}

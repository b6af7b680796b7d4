using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Tests.Support;

/// <summary>
/// The real Cdp host (all modules, real Kestrel on a loopback port, a real LiteDB file in a temp folder, or a PostgreSQL
/// database of the test cluster: <see cref="OnAsync"/>), started in-process. Extra settings override appsettings.json, e.g. ["Cdp:Sources:crm:Strict"] = "true".
/// </summary>
public sealed class CdpHost : WebApplicationFactory<Program>
{
    public const string WriteKey = "test-write-key-web";
    public const string StrictWriteKey = "test-write-key-strict";
    public const string AdminKey = "test-admin-key-0123456789";
    public const string AnalystKey = "test-analyst-key-0123456789";

    private readonly TempFolder _folder;
    private readonly bool _ownsFolder;
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    /// <param name="services">Replaces services after the app registered its own (e.g. a controllable TimeProvider).</param>
    public CdpHost(IDictionary<string, string?>? settings = null, TempFolder? folder = null, Action<IServiceCollection>? services = null)
    {
        _services = services;
        _ownsFolder = folder is null;
        _folder = folder ?? new TempFolder();
        _settings = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Logging:Console:FormatterName"] = "simple",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Cdp:Storage:Path"] = _folder.File("cdp.db"),
            ["Cdp:Sources:web:WriteKey"] = WriteKey,
            ["Cdp:Sources:crm:WriteKey"] = StrictWriteKey,
            ["Cdp:Sources:crm:Strict"] = "true",
            ["Cdp:Admin:ApiKeys:ops:Key"] = AdminKey,
            ["Cdp:Admin:ApiKeys:ops:Role"] = "Admin",
            ["Cdp:Admin:ApiKeys:reader:Key"] = AnalystKey,
            ["Cdp:Admin:ApiKeys:reader:Role"] = "Analyst",
        };
        if (settings is not null) foreach (var (k, v) in settings) _settings[k] = v;
        if (!_settings.ContainsKey("Cdp:Storage:Provider") && DefaultProvider == Cdp.Modules.Shared.Storage.StorageProviders.PostgreSql)
        {
            _settings["Cdp:Storage:Provider"] = DefaultProvider;
            // one database per data folder, as one cdp.db per folder: a test that restarts its host on the folder finds its data
            _settings["Cdp:Storage:ConnectionString"] = DatabasesByFolder.GetOrAdd(_folder.Path, _ => PostgresServer.CreateDatabaseAsync().GetAwaiter().GetResult());
        }
        UseKestrel(0);
    }

    /// <summary>
    /// The host on either provider (Cdp:Storage:Provider): on PostgreSql, a fresh database of the test cluster (the test is
    /// skipped without one, or fails under CI; see PostgresServer). Use with [SkippableTheory] and <see cref="Providers"/>.
    /// </summary>
    public static async Task<CdpHost> OnAsync(string provider, IDictionary<string, string?>? settings = null, TempFolder? folder = null,
        Action<IServiceCollection>? services = null)
    {
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["Cdp:Storage:Provider"] = provider };
        if (provider == Cdp.Modules.Shared.Storage.StorageProviders.PostgreSql)
        {
            all["Cdp:Storage:Provider"] = provider;
            all["Cdp:Storage:ConnectionString"] = await PostgresServer.CreateDatabaseAsync();
        }
        return new CdpHost(all, folder, services);
    }

    /// <summary>
    /// The provider of a host whose test does not choose one: LiteDb, or what CDP_TEST_PROVIDER says (PostgreSql runs every
    /// such host test on a fresh database of the test cluster: `CDP_TEST_PROVIDER=PostgreSql dotnet test`).
    /// </summary>
    public static string DefaultProvider { get; } = Environment.GetEnvironmentVariable("CDP_TEST_PROVIDER") is { Length: > 0 } chosen
        ? chosen : Cdp.Modules.Shared.Storage.StorageProviders.LiteDb;

    /// <summary>
    /// A host on LiteDB whatever CDP_TEST_PROVIDER says, for a test about LiteDB itself (its files, its locks) or one that
    /// reads cdp.db directly; <paramref name="why"/> says which, for the reader.
    /// </summary>
    public static CdpHost LiteDbOnly(string why, IDictionary<string, string?>? settings = null, TempFolder? folder = null,
        Action<IServiceCollection>? services = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(why);
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["Cdp:Storage:Provider"] = Cdp.Modules.Shared.Storage.StorageProviders.LiteDb,
        };
        return new CdpHost(all, folder, services);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> DatabasesByFolder = new(StringComparer.Ordinal);

    /// <summary>Both storage providers, for host tests that take the provider as a parameter.</summary>
    public static TheoryData<string> Providers => new([Cdp.Modules.Shared.Storage.StorageProviders.LiteDb, Cdp.Modules.Shared.Storage.StorageProviders.PostgreSql]);

    public string DataFolder => _folder.Path;

    /// <summary>The loopback address Kestrel listens on, e.g. http://127.0.0.1:41234/.</summary>
    public string ServerAddress
    {
        get
        {
            using var client = CreateClient();
            return client.BaseAddress!.ToString();
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (k, v) in _settings) builder.UseSetting(k, v);
        builder.UseEnvironment("Testing");
        if (_services is not null) builder.ConfigureTestServices(_services);
    }

    /// <summary>
    /// Seen under a loaded full run: a client whose base address still carries the configured port 0 (connection
    /// refused). The bound address is then taken from the server itself.
    /// </summary>
    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        if (client.BaseAddress is not { Port: 0 }) return;
        // Kestrel may still be binding when the factory hands out its first client: give it a moment
        ICollection<string> addresses = [];
        Uri? bound = null;
        for (var waited = 0; bound is null && waited < 30_000; waited += 50)
        {
            addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            bound = addresses.Select(a => new Uri(a)).FirstOrDefault(a => a.Port != 0);
            if (bound is null) Thread.Sleep(50);
        }
        if (bound is null) throw new InvalidOperationException("Kestrel reports no bound address: " + string.Join(", ", addresses));
        client.BaseAddress = new UriBuilder(client.BaseAddress) { Port = bound.Port }.Uri;
    }

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>A client for the Tracking API, authenticated with the web source's write key.</summary>
    public HttpClient TrackingClient(string writeKey = WriteKey)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKey + ":")));
        return client;
    }

    public HttpClient AdminClient(string key = AdminKey)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private int _disposed;

    protected override void Dispose(bool disposing)
    {
        // WebApplicationFactory's DisposeAsync calls Dispose(true) again when it ends: stop and delete only once.
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        base.Dispose(disposing);
        if (disposing && _ownsFolder) _folder.Dispose();
    }
}

using System.Reflection;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Storage.LiteDb;
using NetArchTest.Rules;

namespace Cdp.Tests.Architecture;

/// <summary>
/// The storage seam (issue #27): what modules hand each other names no storage engine, so a second provider (PostgreSQL)
/// can stand behind every contract. Engine types stay in the storage providers' code.
/// </summary>
public sealed class StorageSeamTests
{
    private static readonly Assembly Modules = typeof(ICdpModule).Assembly;

    private static readonly string[] Engines = ["LiteDB", "Npgsql"];

    public static readonly TheoryData<string> DoorNamespaces = new(
        ["Cdp.Modules.Collection.Contracts", "Cdp.Modules.Identity.Contracts", "Cdp.Modules.Profiles.Contracts", "Cdp.Modules.Pipeline.Contracts",
         "Cdp.Modules.Matching.Contracts", "Cdp.Modules.Segments.Contracts", "Cdp.Modules.Activation.Contracts", "Cdp.Modules.Scheduling.Contracts",
         "Cdp.Modules.Governance.Contracts", "Cdp.Modules.Shared.Privacy"]);

    [Theory]
    [MemberData(nameof(DoorNamespaces))]
    public void Contracts_name_no_storage_engine_type(string door)
    {
        Modules.GetTypes().Any(t => t.Namespace == door).Should().BeTrue($"{door} holds the contracts this rule guards");
        var result = Types.InAssembly(Modules).That().ResideInNamespace(door).ShouldNot().HaveDependencyOnAny(Engines).GetResult();
        result.IsSuccessful.Should().BeTrue(
            $"a contract passes a provider-neutral IUnitOfWork, never an engine's handle or documents: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Npgsql_is_named_only_in_the_PostgreSql_provider_code()
    {
        var result = Types.InAssembly(Modules).That().DoNotResideInNamespaceMatching(@"\.PostgreSql(\.|$)")
            .ShouldNot().HaveDependencyOn("Npgsql").GetResult();
        result.IsSuccessful.Should().BeTrue($"PostgreSQL code lives in a PostgreSql folder of its module: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    /// <summary>
    /// Types that still name LiteDB outside a LiteDb folder (or Shared/Storage, the LiteDB provider's core, and Scheduling's
    /// LiteDB job storage), per module: the seam's work left (issue #27). A ratchet: the numbers may only go down. When you
    /// move a module's storage behind its store interfaces, lower its number here.
    /// </summary>
    private static readonly Dictionary<string, int> LiteDbOutsideProviders = new(StringComparer.Ordinal)
    {
        ["Activation"] = 0, ["Collection"] = 0, ["Governance"] = 0, ["Identity"] = 0, ["Matching"] = 0, ["Pipeline"] = 0,
        ["Profiles"] = 16, ["Segments"] = 0,
    };

    [Fact]
    public void LiteDB_is_named_outside_the_LiteDb_folders_no_more_than_before()
    {
        var named = Types.InAssembly(Modules)
            .That().DoNotResideInNamespaceMatching(@"\.LiteDb(\.|$)")
            .And().DoNotResideInNamespace("Cdp.Modules.Shared.Storage")
            .And().DoNotResideInNamespace("Cdp.Modules.Scheduling.Storage")
            .Should().NotHaveDependencyOn("LiteDB").GetResult().FailingTypes ?? [];
        var byModule = named.Where(t => !t.IsNested && !t.Name.StartsWith('<'))
            .GroupBy(t => t.Namespace!.Split('.')[2]).ToDictionary(g => g.Key, g => g.Select(t => t.FullName!).Order().ToList());
        var grown = byModule.Where(m => m.Value.Count > LiteDbOutsideProviders.GetValueOrDefault(m.Key))
            .Select(m => $"{m.Key}: {m.Value.Count} (was {LiteDbOutsideProviders.GetValueOrDefault(m.Key)}): {string.Join(", ", m.Value)}").ToList();
        grown.Should().BeEmpty("new LiteDB code goes in a LiteDb folder behind a store interface, with its PostgreSQL twin");
        var shrunk = byModule.Where(m => m.Value.Count < LiteDbOutsideProviders[m.Key]).Select(m => $"{m.Key}: {m.Value.Count}")
            .Concat(LiteDbOutsideProviders.Keys.Where(k => !byModule.ContainsKey(k) && LiteDbOutsideProviders[k] > 0).Select(k => $"{k}: 0")).ToList();
        shrunk.Should().BeEmpty("the seam moved on: lower these numbers in LiteDbOutsideProviders so they cannot grow back");
    }

    [Fact]
    public void The_rule_sees_an_engine_type_where_one_is_named()
    {
        Types.InAssembly(Modules).That().HaveName(nameof(LiteUnitOfWork)).Should().HaveDependencyOnAny(Engines).GetResult()
            .IsSuccessful.Should().BeTrue("LiteUnitOfWork holds a LiteDatabase: the dependency check must see it");
    }
}

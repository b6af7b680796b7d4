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
    /// LiteDB is named only by its provider's code: a LiteDb folder of a module, Shared/Storage (the LiteDB provider's core)
    /// and Scheduling's LiteDB job storage. Issue #27 brought every module here (the last, Profiles, with its value tree).
    /// </summary>
    [Fact]
    public void LiteDB_is_named_only_in_the_LiteDb_provider_code()
    {
        var named = Types.InAssembly(Modules)
            .That().DoNotResideInNamespaceMatching(@"\.LiteDb(\.|$)")
            .And().DoNotResideInNamespace("Cdp.Modules.Shared.Storage")
            .And().DoNotResideInNamespace("Cdp.Modules.Scheduling.Storage")
            .Should().NotHaveDependencyOn("LiteDB").GetResult().FailingTypes ?? [];
        named.Where(t => !t.Name.StartsWith('<')).Select(t => t.FullName).Should().BeEmpty(
            "LiteDB code goes in a LiteDb folder behind the module's store interface, with its PostgreSQL twin");
    }

    [Fact]
    public void The_rule_sees_an_engine_type_where_one_is_named()
    {
        Types.InAssembly(Modules).That().HaveName(nameof(LiteUnitOfWork)).Should().HaveDependencyOnAny(Engines).GetResult()
            .IsSuccessful.Should().BeTrue("LiteUnitOfWork holds a LiteDatabase: the dependency check must see it");
    }
}

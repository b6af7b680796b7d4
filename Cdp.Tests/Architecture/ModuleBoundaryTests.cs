using System.Reflection;
using Cdp.Modules.Shared.Modules;
using NetArchTest.Rules;

namespace Cdp.Tests.Architecture;

/// <summary>Contracts/ is the only door between modules; everything else is internal.</summary>
public sealed class ModuleBoundaryTests
{
    private static readonly Assembly Modules = typeof(ICdpModule).Assembly;

    private static readonly string[] Names = ["Collection", "Identity", "Profiles", "Pipeline", "Matching", "Segments", "Activation", "Scheduling", "Governance"];

    public static readonly TheoryData<string> ModuleNames = new(Names);

    private static bool IsContract(Type t, string module) =>
        t.Namespace is { } ns && (ns == $"Cdp.Modules.{module}.Contracts" || ns.StartsWith($"Cdp.Modules.{module}.Contracts.", StringComparison.Ordinal));

    private static bool InModule(Type t, string module) =>
        t.Namespace is { } ns && (ns == $"Cdp.Modules.{module}" || ns.StartsWith($"Cdp.Modules.{module}.", StringComparison.Ordinal));

    [Theory]
    [MemberData(nameof(ModuleNames))]
    public void A_module_uses_other_modules_only_through_their_contracts(string module)
    {
        var others = Names.Where(m => m != module).ToList();
        var forbidden = Modules.GetTypes()
            .Where(t => others.Any(o => InModule(t, o) && !IsContract(t, o)) && !t.Name.StartsWith('<'))
            .Select(t => t.FullName!)
            .Where(n => !n.Contains('+'))
            .ToArray();

        var result = Types.InAssembly(Modules)
            .That().ResideInNamespace($"Cdp.Modules.{module}")
            .ShouldNot().HaveDependencyOnAny(forbidden)
            .GetResult();

        result.IsSuccessful.Should().BeTrue(
            $"{module} may use other modules only through their Contracts, but these types reach into internals: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Theory]
    [MemberData(nameof(ModuleNames))]
    public void Only_contracts_and_the_module_class_are_public(string module)
    {
        var leaks = Modules.GetTypes()
            .Where(t => InModule(t, module) && !IsContract(t, module) && t.IsPublic && !typeof(ICdpModule).IsAssignableFrom(t))
            .Select(t => t.FullName)
            .ToList();
        leaks.Should().BeEmpty($"types outside {module}/Contracts are internal");
    }

    [Fact]
    public void Shared_depends_on_no_module()
    {
        var moduleNamespaces = Names.Select(m => $"Cdp.Modules.{m}").ToArray();
        var result = Types.InAssembly(Modules).That().ResideInNamespace("Cdp.Modules.Shared")
            .ShouldNot().HaveDependencyOnAny(moduleNamespaces).GetResult();
        result.IsSuccessful.Should().BeTrue($"Shared is below every module: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Every_module_has_one_module_class_in_its_namespace()
    {
        foreach (var module in Cdp.Host.CdpApp.Modules)
        {
            module.GetType().Namespace.Should().Be($"Cdp.Modules.{module.Name}");
            module.GetType().Name.Should().Be($"{module.Name}Module");
        }
        Cdp.Host.CdpApp.Modules.Select(m => m.Name).Should().BeEquivalentTo(Names);
    }

    [Fact]
    public void The_boundary_rule_catches_a_module_that_reaches_into_another()
    {
        // the rule itself must be able to fail: Collection's internals are used by Collection
        var collectionInternals = Modules.GetTypes()
            .Where(t => InModule(t, "Collection") && !IsContract(t, "Collection") && !t.Name.StartsWith('<') && !t.FullName!.Contains('+'))
            .Select(t => t.FullName!).ToArray();
        Types.InAssembly(Modules).That().ResideInNamespace("Cdp.Modules.Collection")
            .ShouldNot().HaveDependencyOnAny(collectionInternals).GetResult().IsSuccessful.Should().BeFalse();
    }
}

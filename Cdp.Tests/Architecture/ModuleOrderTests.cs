using Cdp.Modules.Shared.Modules;

namespace Cdp.Tests.Architecture;

/// <summary>
/// The modules read one way: each may use only modules EARLIER in <see cref="Order"/> (through their Contracts, which
/// <see cref="ModuleBoundaryTests"/> checks). A lower module that must reach up declares an interface in its own Contracts
/// (or Shared) and the higher module implements it: IProfileBatchParticipant (Pipeline, implemented by Segments and
/// Matching), ITextIdentifiers (Collection, implemented by Identity), IPersonalDataHolder and IAdminSessions (Shared).
/// See docs/architecture.md for the picture.
/// </summary>
public sealed class ModuleOrderTests
{
    /// <summary>Lowest first. A new module gets its place here (the test below fails until it has one).</summary>
    public static readonly string[] Order =
        ["Shared", "Scheduling", "Collection", "Identity", "Profiles", "Pipeline", "Segments", "Matching", "Activation", "Governance"];

    private static readonly Lazy<IReadOnlyList<ModuleGraph.Reference>> References =
        new(() => ModuleGraph.References(typeof(ICdpModule).Assembly.Location));

    /// <summary>Every reference from a module to a module at or above it in <paramref name="order"/>, as "From -> To" lines.</summary>
    internal static IReadOnlyList<string> Violations(IEnumerable<ModuleGraph.Reference> references, IReadOnlyList<string> order)
    {
        int Rank(string module) => order.ToList().IndexOf(module) is var i and >= 0 ? i : int.MaxValue;
        return references.Where(r => Rank(r.ToModule) >= Rank(r.FromModule))
            .Select(r => $"{r.FromModule} -> {r.ToModule}: {r.From} uses {r.To}")
            .ToList();
    }

    /// <summary>A cycle among the modules (as "A -> B -> A" with one type pair per step), or null.</summary>
    internal static string? Cycle(IEnumerable<ModuleGraph.Reference> references)
    {
        var edges = references.GroupBy(r => r.FromModule).ToDictionary(g => g.Key, g => g.GroupBy(r => r.ToModule).ToDictionary(x => x.Key, x => x.First()));
        var state = new Dictionary<string, int>(); // 1 on the path, 2 done
        var path = new List<string>();

        string? Visit(string module)
        {
            state[module] = 1;
            path.Add(module);
            foreach (var (next, sample) in edges.GetValueOrDefault(module) ?? [])
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    var loop = path.Skip(path.IndexOf(next)).Append(next).ToList();
                    return string.Join(" -> ", loop) + " (e.g. " + string.Join("; ", loop.Zip(loop.Skip(1), (a, b) => edges[a][b].ToString())) + ")";
                }
                if (state.GetValueOrDefault(next) == 0 && Visit(next) is { } found) return found;
            }
            path.RemoveAt(path.Count - 1);
            state[module] = 2;
            return null;
        }

        foreach (var module in edges.Keys.Order(StringComparer.Ordinal))
            if (state.GetValueOrDefault(module) == 0 && Visit(module) is { } cycle) return cycle;
        return null;
    }

    [Fact]
    public void Every_module_has_a_place_in_the_order()
    {
        var modules = typeof(ICdpModule).Assembly.GetTypes().Select(t => ModuleGraph.ModuleOf(t.Namespace)).OfType<string>().Distinct().Order().ToList();
        modules.Should().Contain(["Identity", "Pipeline", "Matching"]);
        modules.Except(Order).Should().BeEmpty("every module of Cdp.Modules needs its place in ModuleOrderTests.Order");
        Order.Except(modules).Should().BeEmpty("the order names only modules that exist");
    }

    [Fact]
    public void No_module_uses_a_module_at_or_above_it_in_the_order()
    {
        References.Value.Should().NotBeEmpty();
        var violations = Violations(References.Value, Order);
        violations.Should().BeEmpty($"modules may use only modules earlier in [{string.Join(" < ", Order)}]; "
            + "to call up, declare an interface in the lower module's Contracts and implement it above. Offenders:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void The_modules_use_each_other_without_a_cycle()
    {
        var cycle = Cycle(References.Value);
        cycle.Should().BeNull($"a cycle between modules: {cycle}");
    }

    [Fact]
    public void The_order_rule_reports_a_real_reference_when_two_modules_swap_places()
    {
        // Profiles really uses Identity (IIdentityDirectory in the Profile API): with Profiles placed below Identity, the
        // same check must name that use
        var swapped = Order.Select(m => m switch { "Identity" => "Profiles", "Profiles" => "Identity", _ => m }).ToList();
        var violations = Violations(References.Value, swapped);
        violations.Should().Contain(v => v.StartsWith("Profiles -> Identity: ", StringComparison.Ordinal)
            && v.Contains("Cdp.Modules.Profiles.Api.ProfileEndpoints uses Cdp.Modules.Identity.Contracts.IIdentityDirectory", StringComparison.Ordinal));
        violations.Should().NotContain(v => v.StartsWith("Identity -> Profiles", StringComparison.Ordinal), "Identity does not use Profiles");
    }

    [Fact]
    public void The_cycle_rule_reports_a_cycle_made_of_a_real_reference_and_its_reverse()
    {
        var real = References.Value.First(r => r.FromModule == "Profiles" && r.ToModule == "Identity");
        var reversed = new ModuleGraph.Reference("Identity", "Cdp.Modules.Identity.Graph.Example", "Profiles", real.From);
        var cycle = Cycle(References.Value.Append(reversed));
        cycle.Should().NotBeNull();
        cycle.Should().Contain("Identity -> Profiles").And.Contain("Profiles -> Identity").And.Contain(real.From);
    }
}

using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Cdp.Tests.Architecture;

/// <summary>
/// The references between modules, read from the compiled IL of Cdp.Modules (base types, interfaces, fields, signatures,
/// locals, attributes and every type, method or field an instruction names, generic arguments included): which type of
/// which module uses which type of which other module. A compiler-generated type (lambda, iterator, async state machine)
/// counts for the type it was written in.
/// </summary>
internal static class ModuleGraph
{
    private const string Root = "Cdp.Modules.";

    /// <summary>One use: <paramref name="From"/> (a type of module FromModule) names <paramref name="To"/> (a type of ToModule).</summary>
    internal sealed record Reference(string FromModule, string From, string ToModule, string To)
    {
        public override string ToString() => $"{From} -> {To}";
    }

    /// <summary>Every reference from a type of one module to a type of another module of <paramref name="assemblyPath"/>.</summary>
    public static IReadOnlyList<Reference> References(string assemblyPath)
    {
        using var module = ModuleDefinition.ReadModule(assemblyPath);
        var found = new HashSet<Reference>();
        foreach (var type in module.GetTypes())
        {
            var outer = Outermost(type);
            if (ModuleOf(outer.Namespace) is not { } from) continue;
            foreach (var used in UsedTypes(type))
            {
                // only Cdp.Modules defines Cdp.Modules.* namespaces: a type there is a module's type
                var target = Outermost(used);
                if (ModuleOf(target.Namespace) is { } to && to != from)
                    found.Add(new Reference(from, outer.FullName, to, target.FullName));
            }
        }
        return found.OrderBy(r => r.FromModule).ThenBy(r => r.ToModule).ThenBy(r => r.From).ThenBy(r => r.To).ToList();
    }

    /// <summary>"Cdp.Modules.Identity.Graph" -> "Identity"; null outside Cdp.Modules.</summary>
    public static string? ModuleOf(string? ns)
    {
        if (ns is null || !ns.StartsWith(Root, StringComparison.Ordinal)) return null;
        var rest = ns[Root.Length..];
        var dot = rest.IndexOf('.');
        return dot < 0 ? rest : rest[..dot];
    }

    private static TypeReference Outermost(TypeReference type)
    {
        while (type.DeclaringType is not null) type = type.DeclaringType;
        return type;
    }

    private static IEnumerable<TypeReference> UsedTypes(TypeDefinition type)
    {
        var direct = new List<TypeReference>();
        if (type.BaseType is not null) direct.Add(type.BaseType);
        direct.AddRange(type.Interfaces.Select(i => i.InterfaceType));
        direct.AddRange(type.CustomAttributes.SelectMany(AttributeTypes));
        direct.AddRange(type.GenericParameters.SelectMany(g => g.Constraints.Select(c => c.ConstraintType)));
        foreach (var f in type.Fields) { direct.Add(f.FieldType); direct.AddRange(f.CustomAttributes.SelectMany(AttributeTypes)); }
        foreach (var p in type.Properties) { direct.Add(p.PropertyType); direct.AddRange(p.CustomAttributes.SelectMany(AttributeTypes)); }
        foreach (var e in type.Events) direct.Add(e.EventType);
        foreach (var m in type.Methods)
        {
            direct.Add(m.ReturnType);
            direct.AddRange(m.Parameters.Select(p => p.ParameterType));
            direct.AddRange(m.CustomAttributes.SelectMany(AttributeTypes));
            direct.AddRange(m.Parameters.SelectMany(p => p.CustomAttributes.SelectMany(AttributeTypes)));
            direct.AddRange(m.GenericParameters.SelectMany(g => g.Constraints.Select(c => c.ConstraintType)));
            if (!m.HasBody) continue;
            direct.AddRange(m.Body.Variables.Select(v => v.VariableType));
            foreach (var i in m.Body.Instructions)
            {
                switch (i.Operand)
                {
                    case TypeReference t: direct.Add(t); break;
                    case MethodReference mr:
                        direct.Add(mr.DeclaringType);
                        direct.Add(mr.ReturnType);
                        direct.AddRange(mr.Parameters.Select(p => p.ParameterType));
                        if (mr is GenericInstanceMethod gm) direct.AddRange(gm.GenericArguments);
                        break;
                    case FieldReference fr: direct.Add(fr.DeclaringType); direct.Add(fr.FieldType); break;
                }
            }
        }
        return direct.SelectMany(Flatten);
    }

    private static IEnumerable<TypeReference> AttributeTypes(CustomAttribute a)
    {
        yield return a.AttributeType;
        foreach (var arg in a.ConstructorArguments.Concat(a.Properties.Select(p => p.Argument)).Concat(a.Fields.Select(f => f.Argument)))
            if (arg.Value is TypeReference t) yield return t;
    }

    private static IEnumerable<TypeReference> Flatten(TypeReference? type)
    {
        if (type is null || type is GenericParameter) yield break;
        switch (type)
        {
            case GenericInstanceType g:
                foreach (var t in Flatten(g.ElementType)) yield return t;
                foreach (var t in g.GenericArguments.SelectMany(Flatten)) yield return t;
                yield break;
            case TypeSpecification s:
                foreach (var t in Flatten(s.ElementType)) yield return t;
                yield break;
            default:
                yield return type;
                yield break;
        }
    }
}

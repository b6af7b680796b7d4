using Cdp.Modules.Shared.Storage;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Cdp.Tests.Architecture;

/// <summary>
/// LiteDB #2825: every write to cdp.db must hold CdpDatabase's write gate. The runtime guard (GatedEngine, under the
/// LiteDatabase) refuses the others, whatever way they are made, but only on the paths a test runs. These checks cover
/// every path, by reading the compiled IL (types and members resolved, so a "Database" of another class or a comment
/// cannot fool them, which a text search of the sources could): the only LiteDatabase of cdp.db a module can reach
/// is the one InTransaction hands it (CdpDatabase.Database is not touched outside Shared/Storage), and no code opens
/// a LiteDB file behind CdpDatabase's back. What a module does with its transaction's handle needs no static check:
/// it holds the gate by construction.
/// </summary>
public sealed class StorageAccessTests
{
    private const string StorageNamespace = "Cdp.Modules.Shared.Storage";

    /// <summary>Types allowed to open a LiteDB file themselves, and why.</summary>
    private static readonly Dictionary<string, string> OpenersAllowed = new(StringComparer.Ordinal)
    {
        ["Cdp.Modules.Shared.Storage.CdpDatabase"] = "cdp.db itself, on the gated engine",
        ["Cdp.Modules.Scheduling.Storage.JobsDatabase"] = "the jobs file: its own file, lock and single writer thread",
        ["Cdp.Modules.Governance.Operations.LiteDb.DatabaseBackup"] = "opens a backup copy read-only to check it",
        ["Cdp.Modules.Shared.Storage.SerialEngine"] = "opens, and reopens after a failed write, the engine of the file its owner (CdpDatabase, JobsDatabase) names",
    };

    /// <summary>Constructors that open a LiteDB file (a SerialEngine opens the engine of the settings it is given).</summary>
    private static readonly string[] LiteDbOpeners = ["LiteDB.LiteDatabase", "LiteDB.Engine.LiteEngine", "LiteDB.LiteRepository", "Cdp.Modules.Shared.Storage.SerialEngine"];

    private static IEnumerable<(TypeDefinition Type, MethodDefinition Method, Instruction Instruction)> Instructions()
    {
        foreach (var assembly in new[] { typeof(CdpDatabase).Assembly.Location, typeof(Cdp.Host.CdpApp).Assembly.Location })
        {
            using var module = ModuleDefinition.ReadModule(assembly);
            foreach (var type in module.GetTypes())
            foreach (var method in type.Methods.Where(m => m.HasBody))
            foreach (var instruction in method.Body.Instructions)
                yield return (type, method, instruction);
        }
    }

    /// <summary>The declaring type of a nested (e.g. compiler-generated lambda) type: where the code was written.</summary>
    private static TypeDefinition Outermost(TypeDefinition type)
    {
        while (type.DeclaringType is not null) type = type.DeclaringType;
        return type;
    }

    [Fact]
    public void Outside_Shared_Storage_no_code_reaches_the_database_handle_of_CdpDatabase()
    {
        var offenders = Instructions()
            .Where(x => x.Instruction.Operand is MethodReference { Name: "get_Database" } m
                        && m.DeclaringType.FullName == typeof(CdpDatabase).FullName
                        && Outermost(x.Type).Namespace != StorageNamespace)
            .Select(x => $"{Outermost(x.Type).FullName}.{x.Method.Name}")
            .Distinct()
            .ToList();
        offenders.Should().BeEmpty("CdpDatabase.Database could write outside the write gate; read through db.Collection(name), write inside db.InTransaction(d => ...)");
    }

    [Fact]
    public void Only_the_storage_classes_open_a_LiteDB_file()
    {
        var offenders = Instructions()
            .Where(x => x.Instruction.OpCode == OpCodes.Newobj
                        && x.Instruction.Operand is MethodReference m
                        && LiteDbOpeners.Contains(m.DeclaringType.FullName)
                        && !OpenersAllowed.ContainsKey(Outermost(x.Type).FullName))
            .Select(x => $"{Outermost(x.Type).FullName}.{x.Method.Name}")
            .Distinct()
            .ToList();
        offenders.Should().BeEmpty("a second LiteDatabase on cdp.db would write without the write gate (LiteDB #2825); use CdpDatabase");
    }

    [Fact]
    public void The_checks_see_the_code_they_guard()
    {
        // the scans above must be able to fail: they do find the allowed uses
        var all = Instructions().ToList();
        all.Any(x => x.Instruction.OpCode == OpCodes.Newobj && x.Instruction.Operand is MethodReference m
            && m.DeclaringType.FullName == "Cdp.Modules.Shared.Storage.SerialEngine" && Outermost(x.Type).Name == nameof(CdpDatabase)).Should().BeTrue();
        all.Any(x => x.Instruction.OpCode == OpCodes.Newobj && x.Instruction.Operand is MethodReference m
            && m.DeclaringType.FullName == "LiteDB.Engine.LiteEngine" && Outermost(x.Type).Name == "SerialEngine").Should().BeTrue();
        all.Any(x => x.Instruction.Operand is MethodReference { Name: "get_Database" } m
            && m.DeclaringType.FullName == typeof(CdpDatabase).FullName).Should().BeTrue();
    }
}

using Cdp.Host;
using Cdp.Host.Cli;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Microsoft.Extensions.Options;

// Cdp.Host [verb] [options] [--Cdp:Section:Key=value ...]   (see README.md, "Command line")
// Verbs other than run open the data file themselves: stop the server first (LiteDB opens the file exclusively).
var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "run";
var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;

try
{
    switch (verb)
    {
        case "run":
        case "check-config":
        {
            var app = CdpApp.Build(CdpApp.CreateBuilder(rest));
            CdpApp.ValidateSettings(app.Services); // before anything opens a file
            if (verb == "check-config")
            {
                Console.WriteLine("appsettings are valid");
                return 0;
            }
            await app.RunAsync();
            return 0;
        }
        case "import":
            return await ImportVerb.RunAsync(rest);
        case "syncs":
            return await SyncsVerb.RunAsync(rest);
        case "backup":
            return await BackupVerb.BackupAsync(rest);
        case "restore":
            return await BackupVerb.RestoreAsync(rest);
        case "reprocess":
            return await ReprocessVerb.RunAsync(rest);
        case "unmerge":
            return await UnmergeVerb.RunAsync(rest);
        case "identity":
            return await IdentityDryRunVerb.RunAsync(rest);
        case "match" when rest.Length > 0 && rest[0] == "evaluate":
            return MatchEvaluationCommand.Run(rest[1..], Console.Out);
        case "match" when rest.Length > 0 && rest[0] == "run":
            return await MatchRunVerb.RunAsync(rest[1..]);
        case "match":
            Console.Error.WriteLine("usage: cdp match run [--full] [--retrain] | cdp match evaluate <csv> --id <column> --truth <column> [--settings <json file>] (cdp match evaluate --help)");
            return 1;
        default:
            Console.Error.WriteLine($"unknown verb '{verb}'. Verbs: run (default), check-config, import, backup, restore, reprocess, unmerge, identity dry-run, match run, match evaluate, syncs. See README.md.");
            return 1;
    }
}
catch (OptionsValidationException ex)
{
    Console.Error.WriteLine("Cdp cannot start: invalid settings in appsettings.json (or its environment overrides):");
    foreach (var failure in ex.Failures) Console.Error.WriteLine("  - " + failure);
    return 2;
}
catch (Exception ex) when (ex is ArgumentException or CsvImportRejectedException)
{
    Console.Error.WriteLine($"{verb}: {ex.Message}");
    return 1;
}

public partial class Program;

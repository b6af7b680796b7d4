using Cdp.Host;
using Cdp.Host.Cli;
using Cdp.Modules.Collection.Contracts;
using Microsoft.Extensions.Options;

// Cdp.Host [verb] [options] [--Cdp:Section:Key=value ...]   (see README.md, "Command line")
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
        default:
            Console.Error.WriteLine($"unknown verb '{verb}'. Verbs: run (default), check-config, import, syncs. See README.md.");
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

using Cdp.Host;
using Cdp.Modules.Identity.Contracts;
using Microsoft.Extensions.Options;

// cdp [run] [--urls http://host:port] [--Cdp:Storage:Path=...]   starts the server (the default verb)
// cdp check-config                                              validates appsettings and exits (0 = valid)
// cdp match evaluate <csv> --id <col> --truth <col> [...]          probabilistic matching against ground truth
var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "run";
var rest = verb == "run" && args.Length > 0 && args[0] == "run" ? args[1..] : args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;

switch (verb)
{
    case "run":
    case "check-config":
        WebApplication app;
        try
        {
            app = CdpApp.Build(CdpApp.CreateBuilder(rest));
            if (verb == "check-config")
            {
                CdpApp.ValidateSettings(app.Services);
                Console.WriteLine("appsettings are valid");
                return 0;
            }
            await app.RunAsync();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            Console.Error.WriteLine("Cdp cannot start: invalid settings in appsettings.json (or its environment overrides):");
            foreach (var failure in ex.Failures) Console.Error.WriteLine("  - " + failure);
            return 2;
        }
    case "match":
        if (rest.Length > 0 && rest[0] == "evaluate") return MatchEvaluationCommand.Run(rest[1..], Console.Out);
        Console.Error.WriteLine("usage: cdp match evaluate <csv> --id <column> --truth <column> [--settings <json file>] (cdp match evaluate --help)");
        return 1;
    default:
        Console.Error.WriteLine($"unknown verb '{verb}'. Verbs: run (default), check-config, match evaluate. See README.md.");
        return 1;
}

public partial class Program;

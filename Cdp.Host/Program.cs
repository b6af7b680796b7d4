using Cdp.Host;
using Microsoft.Extensions.Options;

// cdp [run] [--urls http://host:port] [--Cdp:Storage:Path=...]   starts the server (the default verb)
// cdp check-config                                              validates appsettings and exits (0 = valid)
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
            CdpApp.ValidateSettings(app.Services); // before anything opens a file
            if (verb == "check-config")
            {
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
    default:
        Console.Error.WriteLine($"unknown verb '{verb}'. Verbs: run (default), check-config. See README.md.");
        return 1;
}

public partial class Program;

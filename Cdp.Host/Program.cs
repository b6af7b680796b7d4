using Cdp.Host;
using Cdp.Host.Cli;
using Microsoft.Extensions.Options;

// cdp [run] [--urls http://host:port] [--Cdp:Storage:Path=...]   starts the server (the default verb)
// cdp check-config                                              validates appsettings and exits (0 = valid)
// cdp reprocess                                                 rebuilds identity graph and profiles from the event log
// cdp unmerge <mergeId>                                         undoes a merge and recomputes the affected profiles
// cdp identity dry-run <proposed.json>                          replays the log under proposed Cdp:Identity rules, changes nothing
// (verbs other than run need the server stopped: they open the same data file)
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
    case "reprocess":
        return await Verb(() => ReprocessVerb.RunAsync(rest));
    case "unmerge":
        return await Verb(() => UnmergeVerb.RunAsync(rest));
    case "identity":
        return await Verb(() => IdentityDryRunVerb.RunAsync(rest));
    default:
        Console.Error.WriteLine($"unknown verb '{verb}'. Verbs: run (default), check-config, reprocess, unmerge, identity dry-run. See README.md.");
        return 1;
}

static async Task<int> Verb(Func<Task<int>> run)
{
    try
    {
        return await run();
    }
    catch (OptionsValidationException ex)
    {
        Console.Error.WriteLine("Cdp cannot start: invalid settings in appsettings.json (or its environment overrides):");
        foreach (var failure in ex.Failures) Console.Error.WriteLine("  - " + failure);
        return 2;
    }
}

public partial class Program;

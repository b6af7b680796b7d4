using System.CommandLine;
using System.CommandLine.Help;
using Cdp.Modules.Matching.Contracts;

namespace Cdp.Host.Cli;

/// <summary>
/// The verbs of <c>Cdp.Host [verb] [options] [--Cdp:Section:Key=value ...]</c> as System.CommandLine commands: each one
/// answers <c>--help</c> with its description, arguments and options (with their defaults), and an unknown option of a
/// verb exits 1 naming it. Settings overrides are split off first (<see cref="CliArgs.Split"/>) and go to the host's
/// configuration; <c>run</c> (also the default, no verb) passes every argument to ASP.NET unchanged (<c>--urls ...</c>).
/// <c>match evaluate</c> keeps its own parser (Matching/Engine/EvaluationCommand): its command takes its tokens as they are.
/// </summary>
internal sealed class CdpCommandLine
{
    /// <summary>Exit code of bad arguments (also System.CommandLine's for a parse error).</summary>
    public const int BadArguments = 1;

    public const string VerbList = "Verbs: run (default), check-config, import, backup, restore, reprocess, unmerge, identity dry-run, match run, match evaluate, syncs, migrate, storage copy, tracking-plan infer. See README.md.";

    private const string SettingsNote = "Settings overrides --Cdp:Section:Key=value (or --Cdp:Section:Key value) go to the configuration, as for the server.";

    private static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null }; // "@file" is an argument, never a response file

    private readonly RootCommand _root;
    private readonly Command _evaluate;
    private readonly HashSet<string> _optionNames = new(StringComparer.Ordinal);
    private string[] _settings = [];
    private string[] _args = [];

    /// <param name="run">starts the server with the given ASP.NET arguments; returns the exit code</param>
    /// <param name="checkConfig">validates the settings with the given overrides; returns the exit code</param>
    public CdpCommandLine(Func<string[], Task<int>> run, Func<string[], Task<int>> checkConfig)
    {
        _root = new RootCommand("Cdp, a Customer Data Platform. Without a verb it starts the server (run). " + SettingsNote + " Cdp.Host <verb> --help describes a verb.")
        {
            TreatUnmatchedTokensAsErrors = false, // ASP.NET's arguments (--urls http://...) go to the server
        };
        _root.SetAction((result, _) =>
        {
            var tokens = result.UnmatchedTokens;
            if (tokens.Count > 0 && !tokens[0].StartsWith('-'))
            {
                Console.Error.WriteLine($"unknown verb '{tokens[0]}'. {VerbList}");
                return Task.FromResult(BadArguments);
            }
            return run([.. tokens]);
        });

        var runCommand = new Command("run", "Start the server (the default when no verb is given). Any ASP.NET argument (--urls http://0.0.0.0:5080) and settings override is passed on.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        runCommand.SetAction((result, _) => run([.. result.UnmatchedTokens]));
        _root.Subcommands.Add(runCommand);

        var checkConfigCommand = new Command("check-config", "Validate the settings and exit: 0 valid, 2 invalid (the errors name each key).");
        checkConfigCommand.SetAction((_, _) => checkConfig(_settings));
        _root.Subcommands.Add(checkConfigCommand);

        _root.Subcommands.Add(Import());
        _root.Subcommands.Add(Backup());
        _root.Subcommands.Add(Restore());

        var reprocess = new Command("reprocess", "Rebuild the identity graph and the profiles from the event log (unmerge decisions are kept). Stop the server first.");
        reprocess.SetAction((_, _) => ReprocessVerb.RunAsync(_settings));
        _root.Subcommands.Add(reprocess);

        var mergeId = new Argument<string?>("mergeId") { Description = "the merge record to undo (listed by GET /api/profiles/{id}/merges)", Arity = ArgumentArity.ZeroOrOne };
        var unmerge = new Command("unmerge", "Undo a merge record and recompute the affected profiles from the log. Stop the server first.") { mergeId };
        unmerge.SetAction((result, _) => UnmergeVerb.RunAsync(result.GetValue(mergeId), _settings));
        _root.Subcommands.Add(unmerge);

        _root.Subcommands.Add(Identity());
        _evaluate = new Command("evaluate", "Run the matching engine on a labelled CSV file (or link two) and print precision, recall and F1. Cdp.Host match evaluate --help lists its options.")
        {
            TreatUnmatchedTokensAsErrors = false, // its own parser (Matching/Engine/EvaluationCommand) reads and checks them
        };
        _evaluate.SetAction(_ => MatchEvaluationCommand.Run(_args[2..], Console.Out)); // every token after "match evaluate", as given
        _root.Subcommands.Add(Match(_evaluate));
        _root.Subcommands.Add(Syncs());

        var dryRun = new Option<bool>("--dry-run") { Description = "only print the pending migrations; apply nothing" };
        var migrate = new Command("migrate", "Create or upgrade the PostgreSQL schema (Cdp:Storage:Provider=PostgreSql): prints each pending migration (module, version, name) and applies it. " +
            "Exit 0 done, 1 a migration failed or the database is newer than this Cdp, 6 the database cannot be reached. On LiteDB there is nothing to migrate.") { dryRun };
        migrate.SetAction((r, _) => MigrateVerb.RunAsync(r.GetValue(dryRun), _settings, Console.Out, Console.Error));
        _root.Subcommands.Add(migrate);

        var to = new Option<string?>("--to") { Description = "the connection string of the empty PostgreSQL database to copy into", HelpName = "connection string" };
        var copy = new Command("copy", "Copy this LiteDB installation (log, identity, profiles, segments, syncs' state, matching, audit, privacy) into an empty PostgreSQL database " +
            "and verify each record set (count and checksum). Stop the server first. Exit 0 copied and verified, 1 a set differs, 2 refused (not LiteDB, target not empty, file in use), 6 PostgreSQL unreachable.") { to };
        copy.SetAction((r, _) => StorageCopyVerb.RunAsync(r.GetValue(to), _settings, Console.Out, Console.Error));
        var storageCommand = new Command("storage", "Storage: copy an installation to PostgreSQL.") { copy };
        storageCommand.SetAction(_ => Usage("usage: cdp storage copy --to <connection string> (cdp storage copy --help)"));
        _root.Subcommands.Add(storageCommand);
        _root.Subcommands.Add(TrackingPlan());

        foreach (var command in Commands(_root))
        foreach (var option in command.Options)
        foreach (var name in option.Aliases.Prepend(option.Name))
            _optionNames.Add(name.TrimStart('-'));
    }

    /// <summary>The root command, for --help and the tests.</summary>
    public RootCommand Root => _root;

    /// <summary>Parses <paramref name="args"/> (a verb's settings overrides split off) and runs the verb; returns the exit code.</summary>
    public Task<int> InvokeAsync(string[] args)
    {
        var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : null;
        string[] tokens = args;
        _args = args;
        _settings = [];
        if (verb is not null and not "run" and not "match" && _root.Subcommands.Any(c => c.Name == verb))
        {
            (var own, _settings) = CliArgs.Split(args[1..], _optionNames);
            tokens = [verb, .. own];
        }
        else if (verb is null && args is not ([] or ["--help" or "-h" or "-?" or "--version"]))
        {
            // no verb: the server, with every argument as it was given (a verb's name as a setting's value stays a value)
            tokens = ["run", .. args];
        }
        else if (verb is "match" && args.Length > 1 && args[1] != "evaluate")
        {
            (var own, _settings) = CliArgs.Split(args[1..], _optionNames);
            tokens = [verb, .. own];
        }

        var result = _root.Parse(tokens, Parsing);
        if (result.CommandResult.Command == _evaluate && result.Action is HelpAction)
            return Task.FromResult(MatchEvaluationCommand.Run(args[2..], Console.Out)); // its own, fuller usage

        // the root passes what it does not know to the server, and System.CommandLine applies the root's setting to every
        // verb: a verb's leftovers are refused here
        var command = result.CommandResult.Command;
        if (command != _root && command.TreatUnmatchedTokensAsErrors && result.UnmatchedTokens.Count > 0 && result.Action is not HelpAction)
        {
            var path = string.Join(' ', Path(result.CommandResult));
            Console.Error.WriteLine($"{path}: unknown option or argument '{result.UnmatchedTokens[0]}' (Cdp.Host {path} --help lists its arguments and options)");
            return Task.FromResult(BadArguments);
        }

        // exceptions reach Program's handlers (exit codes 2, 6, 1); SIGTERM/Ctrl+C stay with the host's graceful shutdown
        return result.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
    }

    private Command Import()
    {
        var file = new Argument<string?>("file.csv") { Description = "the CSV file to import", Arity = ArgumentArity.ZeroOrOne };
        var source = new Option<string?>("--source") { Description = "the source the rows come from (a Cdp:Sources name); required", HelpName = "name" };
        var map = new Option<string?>("--map") { Description = "field=Column,... mapping of event fields to CSV columns; required", HelpName = "mapping" };
        var eventName = new Option<string?>("--event") { Description = "the event name of each row (default: an identify of the row's traits)", HelpName = "name" };
        var delimiter = new Option<string>("--delimiter") { Description = "the column delimiter, one character (\\t for a tab)", DefaultValueFactory = _ => ",", HelpName = "char" };
        var encoding = new Option<string?>("--encoding") { Description = "the file's encoding when it is not UTF-8, e.g. latin1", HelpName = "name" };
        var (server, key) = ServerOptions(recursive: false);
        var command = new Command("import", "Import a CSV file: straight into the database (stop the server first), or with --server through a running server. Exit 3 when some rows failed, 1 when the import stopped part-way (the rows before are imported).")
        {
            file, source, map, eventName, delimiter, encoding, server, key,
        };
        command.SetAction((r, _) => ImportVerb.RunAsync(new ImportVerb.ImportArguments(r.GetValue(file), r.GetValue(source), r.GetValue(map), r.GetValue(eventName),
            r.GetValue(delimiter)!, r.GetValue(encoding), r.GetValue(server), r.GetValue(key)), _settings));
        return command;
    }

    private Command Backup()
    {
        var folder = new Argument<string?>("folder") { Description = "where the copy is written (with --server: on the server's machine, inside Cdp:Storage:BackupRoot)", Arity = ArgumentArity.ZeroOrOne };
        var (server, key) = ServerOptions(recursive: false);
        var command = new Command("backup", "Write a consistent copy of the database files: with --server the running server writes it; without, the server must be stopped (exit 2 while a server holds the files).")
        {
            folder, server, key,
        };
        command.SetAction((r, _) => BackupVerb.BackupAsync(r.GetValue(folder), r.GetValue(server), r.GetValue(key), _settings));
        return command;
    }

    private Command Restore()
    {
        var folder = new Argument<string?>("folder") { Description = "the backup folder (with its backup.json)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("restore", "Check a backup and put its files in place, the current ones moved aside. Stop the server first (exit 2 while a server holds the files).") { folder };
        command.SetAction((r, _) => BackupVerb.RestoreAsync(r.GetValue(folder), _settings));
        return command;
    }

    private Command Identity()
    {
        var file = new Argument<string?>("proposed.json") { Description = "a file with {\"Cdp\":{\"Identity\":{...}}}", Arity = ArgumentArity.ZeroOrOne };
        var dryRun = new Command("dry-run", "Replay the log under a proposed Cdp:Identity section and report which profiles would merge or split; nothing is written.") { file };
        dryRun.SetAction((r, _) => IdentityDryRunVerb.RunAsync(r.GetValue(file), _settings));
        var identity = new Command("identity", "Identity resolution: dry-run.") { dryRun };
        identity.SetAction(_ => Usage(IdentityDryRunVerb.Usage));
        return identity;
    }

    private Command Match(Command evaluate)
    {
        var full = new Option<bool>("--full") { Description = "compare every profile, not only those changed since the last run" };
        var retrain = new Option<bool>("--retrain") { Description = "learn the model again" };
        var run = new Command("run", "Bring the profiles up to date with the log, then run probabilistic matching and print the run report. Stop the server first.") { full, retrain };
        run.SetAction((r, _) => MatchRunVerb.RunAsync(r.GetValue(full), r.GetValue(retrain), _settings));
        var match = new Command("match", "Probabilistic matching: run, evaluate.") { run, evaluate };
        match.SetAction(_ => Usage("usage: cdp match run [--full] [--retrain] | cdp match evaluate (<csv> | --link <a.csv> <b.csv>) --id <column> --truth <column> [--settings <json file>] [--pairs-out <file>] [--clusters-out <file>] (cdp match evaluate --help)"));
        return match;
    }

    private Command Syncs()
    {
        var (server, key) = ServerOptions(recursive: true);
        var syncs = new Command("syncs", "List and run syncs: through a running server with --server, else on the database directly (stop the server first). Exit 3 partial, 4 failed.")
        {
            server, key,
        };
        syncs.SetAction(_ => Usage(SyncsVerb.Usage));

        var list = new Command("list", "Syncs with their destination, schedule, next and last run.");
        list.SetAction((r, _) => SyncsVerb.RunAsync(new SyncsVerb.SyncsArguments("list", null, 0, false, false, r.GetValue(server), r.GetValue(key)), _settings));
        syncs.Subcommands.Add(list);

        var limit = new Option<int>("--limit") { Description = "how many runs", DefaultValueFactory = _ => 20, HelpName = "n" };
        syncs.Subcommands.Add(SyncCommand("runs", "The latest runs of a sync.", limit, r => new SyncsVerb.SyncsArguments("runs", r.Sync, r.Result.GetValue(limit), false, false, r.Server, r.Key)));
        var allowRun = new Option<bool>("--allow-mass-removal") { Description = "go on when the run would remove more members than the sync's guard allows" };
        syncs.Subcommands.Add(SyncCommand("run", "Run a sync now.", allowRun, r => new SyncsVerb.SyncsArguments("run", r.Sync, 20, r.Result.GetValue(allowRun), false, r.Server, r.Key)));
        var full = new Option<bool>("--full") { Description = "the diff of a full resync" };
        syncs.Subcommands.Add(SyncCommand("dry-run", "The diff, sample rows and the first payload of a run; sends nothing.", full, r => new SyncsVerb.SyncsArguments("dry-run", r.Sync, 20, false, r.Result.GetValue(full), r.Server, r.Key)));
        var allowResync = new Option<bool>("--allow-mass-removal") { Description = "go on when the resync would remove more members than the sync's guard allows" };
        syncs.Subcommands.Add(SyncCommand("resync", "Full resync: every eligible member is sent again.", allowResync, r => new SyncsVerb.SyncsArguments("resync", r.Sync, 20, r.Result.GetValue(allowResync), false, r.Server, r.Key)));
        return syncs;

        Command SyncCommand(string name, string description, Option option, Func<(ParseResult Result, string? Sync, string? Server, string? Key), SyncsVerb.SyncsArguments> arguments)
        {
            var sync = new Argument<string?>("sync") { Description = "the sync's name (Cdp:Syncs)", Arity = ArgumentArity.ZeroOrOne };
            var command = new Command(name, description) { sync, option };
            command.SetAction((r, _) => SyncsVerb.RunAsync(arguments((r, r.GetValue(sync), r.GetValue(server), r.GetValue(key))), _settings));
            return command;
        }
    }

    private Command TrackingPlan()
    {
        var source = new Option<string?>("--source") { Description = "the source whose calls the draft describes (a Cdp:Sources name); required", HelpName = "name" };
        var since = new Option<string>("--since") { Description = "how far back to read the log: days, hours or minutes, e.g. 30d, 12h, 90m", DefaultValueFactory = _ => "30d", HelpName = "age" };
        var output = new Option<string?>("--out") { Description = "write the plan to this file and print a summary (default: print the plan)", HelpName = "file" };
        var infer = new Command("infer", "Draft a tracking plan from the calls a source sent: every track event with the JSON types of its properties and how often each was seen, " +
            "context, identify and group traits, and near-duplicate names flagged (\"Appointment Booked\" and \"appointment_booked\"). Stop the server first. Exit 1 for an unknown source.")
        {
            source, since, output,
        };
        infer.SetAction((r, _) => TrackingPlanVerb.InferAsync(r.GetValue(source), r.GetValue(since)!, r.GetValue(output), _settings, Console.Out, Console.Error));
        var command = new Command("tracking-plan", "Tracking plans: infer a draft from the log.") { infer };
        command.SetAction(_ => Usage(TrackingPlanVerb.Usage));
        return command;
    }

    private static (Option<string?> Server, Option<string?> Key) ServerOptions(bool recursive) =>
        (new Option<string?>("--server") { Description = "a running server to ask instead of opening the database, e.g. http://host:5080", HelpName = "url", Recursive = recursive },
         new Option<string?>("--key") { Description = "an admin API key of that server (Cdp:Admin:ApiKeys), with --server", HelpName = "admin key", Recursive = recursive });

    private static int Usage(string usage)
    {
        Console.Error.WriteLine(usage);
        return BadArguments;
    }

    private static IEnumerable<string> Path(System.CommandLine.Parsing.CommandResult result) =>
        result.Parent is System.CommandLine.Parsing.CommandResult parent && parent.Command is not RootCommand ? [.. Path(parent), result.Command.Name] : [result.Command.Name];

    private static IEnumerable<Command> Commands(Command command) => command.Subcommands.SelectMany(Commands).Prepend(command);
}

namespace Cdp.Host.Cli;

/// <summary>
/// Splits the host's settings overrides (<c>--Cdp:Section:Key=value</c>, <c>--Cdp:Section:Key value</c>,
/// <c>--urls=http://...</c>) from a verb's own arguments before System.CommandLine parses them: the overrides go to the
/// web host's configuration. They are taken out first because the parser would otherwise read an override standing
/// before a verb's file or id as that argument.
/// </summary>
internal static class CliArgs
{
    /// <param name="args">the arguments after the verb</param>
    /// <param name="optionNames">the verb's own option names, without dashes: <c>--delimiter=;</c> stays the verb's</param>
    public static (string[] Verb, string[] Settings) Split(IReadOnlyList<string> args, IReadOnlySet<string> optionNames)
    {
        var verb = new List<string>();
        var settings = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a == "--") // everything after it is the verb's, as System.CommandLine reads it
            {
                verb.AddRange(args.Skip(i));
                break;
            }
            var name = a.StartsWith("--", StringComparison.Ordinal) ? a[2..].Split('=', 2)[0] : null;
            if (name is null || optionNames.Contains(name))
            {
                verb.Add(a);
            }
            else if (name.Contains(':'))
            {
                settings.Add(a);
                if (!a.Contains('=') && i + 1 < args.Count) settings.Add(args[++i]); // "--Cdp:Section:Key value"
            }
            else if (a.Contains('='))
            {
                settings.Add(a); // a host setting at the root of the configuration, e.g. --urls=http://127.0.0.1:0
            }
            else
            {
                verb.Add(a); // an unknown option: the parser names it and the verb exits 1
            }
        }
        return ([.. verb], [.. settings]);
    }

    public static string Required(string? value, string name) => value ?? throw new ArgumentException($"--{name} is required");
}

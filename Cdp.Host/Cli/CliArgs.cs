namespace Cdp.Host.Cli;

/// <summary>
/// A verb's own options (--name value) split from settings overrides (--Cdp:Section:Key=value), which go to the host.
/// </summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, string> _options = new(StringComparer.OrdinalIgnoreCase);

    public CliArgs(IEnumerable<string> args, params string[] optionNames)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var a = list[i];
            var name = a.StartsWith("--", StringComparison.Ordinal) ? a[2..] : null;
            if (name is not null && optionNames.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                if (i + 1 >= list.Count) throw new ArgumentException($"--{name} needs a value");
                _options[name] = list[++i];
            }
            else if (name is not null && name.Contains('='))
            {
                Settings.Add(a);
            }
            else if (name is not null && name.Contains(':') && i + 1 < list.Count)
            {
                Settings.Add(a);
                Settings.Add(list[++i]);
            }
            else if (name is not null)
            {
                throw new ArgumentException($"unknown option --{name}; options: {string.Join(", ", optionNames.Select(o => "--" + o))}");
            }
            else
            {
                Positional.Add(a);
            }
        }
    }

    public List<string> Positional { get; } = [];

    /// <summary>Host settings overrides, passed on to the web host's configuration.</summary>
    public List<string> Settings { get; } = [];

    public string? this[string name] => _options.GetValueOrDefault(name);

    public string Required(string name) => this[name] ?? throw new ArgumentException($"--{name} is required");
}

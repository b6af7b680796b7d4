using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using Cdp.Modules.Shared.Configuration;
using Cdp.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Cdp.Tests.Documentation;

/// <summary>
/// The settings reference cannot drift from the code: every key the options classes bind is in a key table of the docs,
/// and every key a table names is bound by some options class.
/// </summary>
public sealed partial class SettingsDocumentationTests
{
    private static readonly Lazy<SettingsTree> Bound = new(() =>
    {
        using var host = new CdpHost();
        var sections = host.Services.GetServices<IWatchedSettings>().Select(s => (s.Section, s.OptionsType)).ToList();
        return SettingsTree.From(sections);
    });

    private static readonly Lazy<IReadOnlyList<DocumentedKey>> Documented = new(() => KeyTables.Read(Docs()));

    private static IEnumerable<(string File, string Text)> Docs() =>
        DocFiles.UserDocs().Select(f => (f, File.ReadAllText(Path.Combine(DocFiles.Root, f))));

    [Fact]
    public void Every_setting_an_options_class_binds_is_in_a_key_table_of_the_docs()
    {
        var missing = Bound.Value.Leaves.Where(leaf => !KeyTables.Covers(Documented.Value, leaf)).ToList();
        string.Join("\n", missing).Should().BeEmpty("every setting belongs in a `| key | default | meaning |` table of README.md or docs/*.md, " +
                                 "written whole (Cdp:Profiles:BatchSize), relative to its heading's (`Cdp:Profiles`) or as ...:Key under a whole key of the same table");
    }

    [Fact]
    public void Every_key_a_docs_table_names_is_bound_by_an_options_class()
    {
        var unknown = Documented.Value.Where(d => d.Key.StartsWith("Cdp:", StringComparison.Ordinal) && !Bound.Value.Nodes.Contains(d.Key))
            .Select(d => $"{d.Key} ({d.File}: {d.Row.Trim()[..Math.Min(80, d.Row.Trim().Length)]})").ToList();
        string.Join("\n", unknown).Should().BeEmpty("a documented key that no options class binds is stale or misspelt");
    }

    [Fact]
    public void The_checks_find_an_undocumented_setting_and_a_stale_documented_key()
    {
        // the rule itself must be able to fail: a bound key nobody documented, a documented key nothing binds
        var tree = SettingsTree.From([("Cdp:Example", typeof(ExampleOptions))]);
        var documented = KeyTables.Read([("x.md", """
            ### Example (`Cdp:Example`)

            | key | default | meaning |
            |---|---|---|
            | `Size` | `1` | documented relative to the heading |
            | `Items:<name>:Cron`, `:Enabled` | | two keys of a dictionary's entries |
            | `Renamed` | | stale |
            """)]);

        tree.Leaves.Where(l => !KeyTables.Covers(documented, l)).Should().Equal("Cdp:Example:Mode");
        documented.Where(d => !tree.Nodes.Contains(d.Key)).Select(d => d.Key).Should().Equal("Cdp:Example:Renamed");
    }

    [Fact]
    public void Keys_are_resolved_against_the_heading_the_table_and_the_first_key_of_a_row()
    {
        var documented = KeyTables.Read([("x.md", """
            ### Activation

            | key | default | meaning |
            |---|---|---|
            | `Cdp:Destinations:<d>:Type` | | whole |
            | `...:MaxAttempts` / `RetryBaseDelay` | | relative to the destination |
            | `...:Sftp:Host`, `Port` (22) | | nested |
            | `...:Username`, `...:Password` / `Token` | | each path read afresh, a single name as a sibling |
            | `Logging:LogLevel:Default` | | not Cdp's |

            #### Mapped (`Cdp:Sources`)

            | Key (`Cdp:Sources:<name>:Mapping:`) | Meaning |
            |---|---|
            | `Items` | the table's own base |
            | `Traits:<name>`, `Properties:<name>` | two paths |
            | `Comparisons[]` | a list's elements |
            """)]);

        documented.Select(d => d.Key).Should().Equal(
            "Cdp:Destinations:*:Type", "Cdp:Destinations:*:MaxAttempts", "Cdp:Destinations:*:RetryBaseDelay",
            "Cdp:Destinations:*:Sftp:Host", "Cdp:Destinations:*:Sftp:Port",
            "Cdp:Destinations:*:Username", "Cdp:Destinations:*:Password", "Cdp:Destinations:*:Token", "Logging:LogLevel:Default",
            "Cdp:Sources:*:Mapping:Items", "Cdp:Sources:*:Mapping:Traits:*", "Cdp:Sources:*:Mapping:Properties:*",
            "Cdp:Sources:*:Mapping:Comparisons:*");
    }

    private sealed class ExampleOptions
    {
        public int Size { get; set; } = 1;
        public string Mode { get; set; } = "";
        public Dictionary<string, ExampleItem> Items { get; set; } = [];
        public int Computed => Size * 2;
    }

    private sealed class ExampleItem
    {
        public string Cron { get; set; } = "";
        public bool Enabled { get; set; }
    }

    private sealed record DocumentedKey(string File, string Key, string Row);

    /// <summary>The keys bound by options classes: leaves (a value an admin sets) and every node on the way to them.</summary>
    private sealed class SettingsTree
    {
        public SortedSet<string> Leaves { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Nodes { get; } = new(StringComparer.Ordinal);

        public static SettingsTree From(IEnumerable<(string Section, Type Options)> sections)
        {
            var tree = new SettingsTree();
            foreach (var (section, options) in sections)
                tree.Walk(section, options, depth: 0);
            return tree;
        }

        private void Walk(string path, Type type, int depth)
        {
            Nodes.Add(path);
            if (depth > 8)
                throw new InvalidOperationException($"options nest deeper than 8 levels at {path}");
            if (ElementType(type) is { } items)
            {
                // a section that is a dictionary itself (Cdp:Sources, Cdp:Segments)
                if (IsValue(items))
                    Leaves.Add(path);
                else
                    Walk(path + ":*", items, depth + 1);
                return;
            }
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (property.GetIndexParameters().Length > 0 || property.GetSetMethod() is null)
                    continue; // the binder sets public settable properties; get-only ones are computed
                var key = $"{path}:{property.Name}";
                var element = ElementType(property.PropertyType);
                if (IsValue(property.PropertyType) || element is not null && IsValue(element))
                {
                    Leaves.Add(key);
                    Nodes.Add(key);
                    if (element is not null)
                        Nodes.Add(key + ":*"); // a list's item or a dictionary's entry named on its own
                }
                else if (element is not null)
                {
                    Nodes.Add(key);
                    Walk(key + ":*", element, depth + 1);
                }
                else
                {
                    Walk(key, property.PropertyType, depth + 1);
                }
            }
        }

        private static bool IsCollection(Type t) => t != typeof(string) && typeof(IEnumerable).IsAssignableFrom(t);

        private static Type? ElementType(Type t)
        {
            if (!IsCollection(t))
                return null;
            if (t.IsArray)
                return t.GetElementType();
            var dictionary = t.GetInterfaces().Append(t).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
            if (dictionary is not null)
                return dictionary.GetGenericArguments()[1];
            var list = t.GetInterfaces().Append(t).First(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
            return list.GetGenericArguments()[0];
        }

        private static bool IsValue(Type t)
        {
            t = Nullable.GetUnderlyingType(t) ?? t;
            return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan) || t == typeof(DateTime)
                   || t == typeof(DateTimeOffset) || t == typeof(Guid) || t == typeof(Uri) || t == typeof(object);
        }
    }

    /// <summary>
    /// Key tables in markdown: a table whose first header cell starts with "key" or "setting". The backticked names in a row's
    /// first cell are keys: whole (`Cdp:...`), relative to the table's base (a header cell `Key (`Cdp:...:`)`), relative to the
    /// row above's last whole key (`...:Key`, up to its last `&lt;placeholder&gt;`), or relative to the nearest heading that
    /// names a `Cdp:` section; after the first name in a cell, a single name (`:Review`, `Port`) is a sibling of the one
    /// before, a path (`Properties:&lt;name&gt;`) is read like the first.
    /// Placeholders (`&lt;name&gt;`) and `[]` read as `*`.
    /// </summary>
    private static partial class KeyTables
    {
        public static IReadOnlyList<DocumentedKey> Read(IEnumerable<(string File, string Text)> docs)
        {
            var keys = new List<DocumentedKey>();
            foreach (var (file, text) in docs)
            {
                var headingBases = new List<string>();
                string? tableBase = null, lastWhole = null;
                var inTable = false;
                foreach (var line in text.Split('\n'))
                {
                    if (line.StartsWith('#'))
                    {
                        headingBases = Ticked().Matches(line).Select(m => m.Groups[1].Value).Where(k => k.StartsWith("Cdp:", StringComparison.Ordinal) || k == "Cdp").Select(Normalise).ToList();
                        inTable = false;
                        continue;
                    }
                    if (!line.StartsWith('|'))
                    {
                        inTable = false;
                        continue;
                    }
                    var cells = line.Split('|');
                    var first = cells.Length > 1 ? cells[1] : "";
                    if (!inTable)
                    {
                        inTable = KeyHeader().IsMatch(first);
                        tableBase = inTable ? Ticked().Matches(first).Select(m => Normalise(m.Groups[1].Value.TrimEnd(':'))).FirstOrDefault() : null;
                        lastWhole = null;
                        continue;
                    }
                    if (first.TrimStart().StartsWith("---", StringComparison.Ordinal))
                        continue;
                    string? parent = null;
                    foreach (Match m in Ticked().Matches(first))
                    {
                        var name = m.Groups[1].Value;
                        string? key;
                        if (parent is not null && (name.StartsWith(':') || !name.Contains(':')))
                            key = parent + ":" + Normalise(name.TrimStart(':'));
                        else if (OtherRoots.Contains(name.Split(':')[0]))
                            key = name; // not Cdp's (Urls, Logging:...): documented, but bound by ASP.NET Core
                        else if (name.StartsWith("Cdp:", StringComparison.Ordinal))
                            key = Normalise(name);
                        else if (name.StartsWith("...:", StringComparison.Ordinal))
                            key = lastWhole is null ? null : UpToPlaceholder(lastWhole) + ":" + Normalise(name[4..]);
                        else if (tableBase is not null)
                            key = tableBase + ":" + Normalise(name);
                        else if (headingBases.Count > 0 && LooksLikeKey(name))
                            key = headingBases[0] == "Cdp" || name.Split(':')[0] is var head && headingBases.Any(b => b.EndsWith(":" + head, StringComparison.Ordinal))
                                ? Parent(headingBases[0]) + ":" + Normalise(name)
                                : headingBases[0] + ":" + Normalise(name);
                        else
                            key = null;
                        if (key is null)
                            break;
                        keys.Add(new DocumentedKey(file, key, line));
                        if (name.StartsWith("Cdp:", StringComparison.Ordinal))
                            lastWhole = key;
                        parent = Parent(key);
                    }
                }
            }
            return keys;
        }

        /// <summary>A leaf is covered when a row names it (a list or dictionary of values also as `Key:&lt;name&gt;`), or names one of its ancestors and mentions the leaf's own name.</summary>
        public static bool Covers(IReadOnlyList<DocumentedKey> documented, string leaf)
        {
            if (documented.Any(d => d.Key == leaf || d.Key == leaf + ":*"))
                return true;
            var name = leaf[(leaf.LastIndexOf(':') + 1)..];
            return documented.Any(d => leaf.StartsWith(d.Key + ":", StringComparison.Ordinal) && Regex.IsMatch(d.Row, $@"\b{Regex.Escape(name)}\b"));
        }

        private static readonly HashSet<string> OtherRoots = new(["Urls", "Logging", "Kestrel", "AllowedHosts"], StringComparer.Ordinal);

        private static bool LooksLikeKey(string name) => KeyName().IsMatch(name);

        private static string Normalise(string key) => Placeholder().Replace(key.Replace("[]", ":*"), "*");

        private static string Parent(string key) => key.Contains(':') ? key[..key.LastIndexOf(':')] : key;

        private static string UpToPlaceholder(string key) => key.Contains(":*") ? key[..(key.LastIndexOf(":*", StringComparison.Ordinal) + 2)] : Parent(key);

        [GeneratedRegex("`([^`]+)`")]
        private static partial Regex Ticked();

        [GeneratedRegex(@"^\s*(key|setting)\b", RegexOptions.IgnoreCase)]
        private static partial Regex KeyHeader();

        [GeneratedRegex(@"^:?[A-Z][A-Za-z0-9]*(\[\])?(:(<[a-z]+>|[A-Z][A-Za-z0-9]*(\[\])?))*$")]
        private static partial Regex KeyName();

        [GeneratedRegex("<[^>]+>")]
        private static partial Regex Placeholder();
    }
}

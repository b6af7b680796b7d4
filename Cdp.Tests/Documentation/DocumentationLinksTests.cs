using System.Text.RegularExpressions;

namespace Cdp.Tests.Documentation;

/// <summary>Links between the docs stay whole when sections move: every relative link names a file that exists and, with a #fragment, a heading in it.</summary>
public sealed partial class DocumentationLinksTests
{
    [Fact]
    public void Every_relative_link_in_the_docs_reaches_an_existing_file_and_heading()
    {
        var broken = DocFiles.All().SelectMany(f => BrokenLinks(f, File.ReadAllText(Path.Combine(DocFiles.Root, f)), ReadTarget)).ToList();
        string.Join("\n", broken).Should().BeEmpty("a moved or renamed section must take its links along");
    }

    [Fact]
    public void A_link_to_a_missing_heading_or_file_is_reported()
    {
        var files = new Dictionary<string, string>
        {
            ["docs/ops.md"] = "# Ops\n",
        };
        string? Read(string path) => files.GetValueOrDefault(path);
        var text = "# Cdp\n## Disk full\n## Disk full\n### LiteDB 5.0.21 and threads\n" +
                   "[a](#disk-full) [b](#disk-full-1) [c](#litedb-5021-and-threads) [d](docs/ops.md#ops) [e](https://x.example/#y)\n" +
                   "```\n[in code](#nowhere)\n```\n[f](#sizing) [g](docs/missing.md) [h](docs/ops.md#disk-full)";

        BrokenLinks("README.md", text, Read).Should().Equal(
            "README.md: (#sizing): no heading 'sizing' in README.md",
            "README.md: (docs/missing.md): no file docs/missing.md",
            "README.md: (docs/ops.md#disk-full): no heading 'disk-full' in docs/ops.md");
    }

    private static string? ReadTarget(string path)
    {
        var full = Path.Combine(DocFiles.Root, path);
        return File.Exists(full) ? File.ReadAllText(full) : Directory.Exists(full) ? "" : null;
    }

    private static IEnumerable<string> BrokenLinks(string file, string text, Func<string, string?> read)
    {
        var dir = Path.GetDirectoryName(file)!.Replace('\\', '/');
        foreach (Match m in Link().Matches(CodeBlock().Replace(text, "")))
        {
            var target = m.Groups[1].Value;
            if (Scheme().IsMatch(target))
                continue;
            var hash = target.IndexOf('#');
            var path = hash < 0 ? target : target[..hash];
            var anchor = hash < 0 ? "" : target[(hash + 1)..];
            var resolved = path.Length == 0 ? file : Normalise(dir.Length == 0 ? path : dir + "/" + path);
            var content = resolved == file ? text : read(resolved);
            if (content is null)
            {
                yield return $"{file}: ({target}): no file {resolved}";
                continue;
            }
            if (anchor.Length > 0 && resolved.EndsWith(".md", StringComparison.Ordinal) && !Anchors(content).Contains(anchor))
                yield return $"{file}: ({target}): no heading '{anchor}' in {resolved}";
        }
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', repeats numbered -1, -2...</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match m in Heading().Matches(CodeBlock().Replace(markdown, "")))
        {
            var slug = NotSlug().Replace(m.Groups[1].Value.Trim().ToLowerInvariant(), "").Replace(' ', '-');
            var n = seen.GetValueOrDefault(slug);
            seen[slug] = n + 1;
            anchors.Add(n == 0 ? slug : $"{slug}-{n}");
        }
        return anchors;
    }

    private static string Normalise(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); }
            else if (part is not ("." or "")) parts.Add(part);
        }
        return string.Join('/', parts);
    }

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^[a-z][a-z0-9+.-]*:", RegexOptions.IgnoreCase)]
    private static partial Regex Scheme();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex CodeBlock();

    [GeneratedRegex(@"^#{1,6} (.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\p{L}\p{N}\- _]")]
    private static partial Regex NotSlug();
}

namespace Cdp.Tests.Documentation;

/// <summary>The repository's markdown: the user's manual (README.md, docs/*.md) and the modules' notes for developers.</summary>
internal static class DocFiles
{
    public static string Root { get; } = FindRoot();

    /// <summary>README.md and docs/*.md, relative to the repository root with '/'.</summary>
    public static IEnumerable<string> UserDocs() =>
        new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Select(f => "docs/" + Path.GetFileName(f)).Order(StringComparer.Ordinal));

    /// <summary>Every markdown file Cdp ships: the user docs and each module's README.md.</summary>
    public static IEnumerable<string> All() =>
        UserDocs().Concat(Directory.GetFiles(Path.Combine(Root, "Cdp.Modules"), "*.md", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Select(f => Path.GetRelativePath(Root, f).Replace(Path.DirectorySeparatorChar, '/')).Order(StringComparer.Ordinal));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Cdp.sln")))
                return dir.FullName;
        throw new InvalidOperationException("Cdp.sln not found above " + AppContext.BaseDirectory);
    }
}

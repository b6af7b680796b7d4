using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Cdp.Bench;

/// <summary>
/// Closed-loop HTTP load from wrk (Debian package `wrk`), a separate C process: it costs far less CPU per request
/// than an in-process HttpClient, so on a 2-core machine more of the CPU goes to the server being measured.
/// Every request gets a unique messageId (per wrk thread and counter) so deduplication never shortcuts the work.
/// </summary>
internal static partial class WrkLoad
{
    public const string Executable = "/usr/bin/wrk";

    public static bool Available => File.Exists(Executable);

    /// <param name="template">Request body; every "{n}" becomes a unique id.</param>
    /// <param name="origin">A browser on this origin: every other request is its CORS preflight (all of them with
    /// <paramref name="preflightOnly"/>); the result then counts requests, two per preflight + POST pair.</param>
    public static async Task<LoadGenerator.Result> RunAsync(Uri baseAddress, string path, string? basicUser, int connections,
        TimeSpan duration, string template, string workFolder, string? origin = null, bool preflightOnly = false)
    {
        var script = Path.Combine(workFolder, $"wrk-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(script, Script(path, basicUser, template, origin, preflightOnly));
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-t2", $"-c{connections}", $"-d{(int)Math.Ceiling(duration.TotalSeconds)}s", "--latency", "-s", script,
                     baseAddress.ToString().TrimEnd('/') })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"wrk failed ({process.ExitCode}): {error}{output}");
        return Parse(output);
    }

    private static string Script(string path, string? basicUser, string template, string? origin, bool preflightOnly)
    {
        var auth = basicUser is null ? "" : Convert.ToBase64String(Encoding.UTF8.GetBytes(basicUser + ":"));
        if (origin is not null)
        {
            return $$"""
                local counter = 0
                local threads = 0
                local template = [==[{{template}}]==]
                local preflight = { ["Origin"] = "{{origin}}", ["Access-Control-Request-Method"] = "POST", ["Access-Control-Request-Headers"] = "authorization,content-type" }
                local post = { ["Origin"] = "{{origin}}", ["Content-Type"] = "text/plain", ["Authorization"] = "Basic {{auth}}" }
                function setup(thread)
                  threads = threads + 1
                  thread:set("tid", threads)
                end
                function request()
                  counter = counter + 1
                  if {{(preflightOnly ? "true" : "false")}} or counter % 2 == 1 then
                    return wrk.format("OPTIONS", "{{path}}", preflight, nil)
                  end
                  return wrk.format("POST", "{{path}}", post, (template:gsub("{n}", tid .. "-" .. counter)))
                end
                """;
        }
        // Lua long brackets hold the template verbatim; gsub's replacement must escape '%'
        return $$"""
            local counter = 0
            local threads = 0
            local template = [==[{{template}}]==]
            function setup(thread)
              threads = threads + 1
              thread:set("tid", threads)
            end
            function init(args)
              wrk.method = "POST"
              wrk.path = "{{path}}"
              wrk.headers["Content-Type"] = "application/json"
              {{(auth.Length > 0 ? $"wrk.headers[\"Authorization\"] = \"Basic {auth}\"" : "")}}
            end
            function request()
              counter = counter + 1
              return wrk.format(nil, nil, nil, (template:gsub("{n}", tid .. "-" .. counter)))
            end
            """;
    }

    private static LoadGenerator.Result Parse(string output)
    {
        var requests = long.Parse(Match(RequestsLine(), output), CultureInfo.InvariantCulture);
        var seconds = double.Parse(Match(DurationLine(), output), CultureInfo.InvariantCulture);
        var failures = NonSuccess().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        failures += SocketErrors().Match(output) is { Success: true } s
            ? s.Groups.Values.Skip(1).Sum(g => long.Parse(g.Value, CultureInfo.InvariantCulture)) : 0;
        return new LoadGenerator.Result(requests - failures, failures, seconds, Latency(output, "50%"), Latency(output, "99%"));
    }

    private static double Latency(string output, string percentile)
    {
        var m = Regex.Match(output, @"^\s*" + Regex.Escape(percentile) + @"\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!m.Success) return 0;
        var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    private static string Match(Regex regex, string output) =>
        regex.Match(output) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException("unexpected wrk output: " + output);

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"requests in ([\d.]+)s")]
    private static partial Regex DurationLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();
}

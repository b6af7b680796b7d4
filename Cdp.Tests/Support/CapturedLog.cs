using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Cdp.Tests.Support;

/// <summary>
/// A logger provider that keeps what the host logs, for tests that check a log line (add it with
/// <c>services: s => s.AddSingleton&lt;ILoggerProvider&gt;(log)</c>). Only categories ending with <paramref name="category"/>
/// (when given) and levels from <paramref name="minimum"/> up are kept.
/// </summary>
public sealed class CapturedLog(string? category = null, LogLevel minimum = LogLevel.Trace) : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Text)> Entries { get; } = new();

    /// <summary>The kept lines' texts, in order.</summary>
    public IEnumerable<string> Lines => Entries.Select(e => e.Text);

    public ILogger CreateLogger(string categoryName) =>
        category is null || categoryName.EndsWith(category, StringComparison.Ordinal) ? new Logger(this) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public void Dispose() { }

    private sealed class Logger(CapturedLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= log._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) log.Entries.Enqueue((logLevel, formatter(state, exception)));
        }
    }

    private readonly LogLevel _minimum = minimum;
}

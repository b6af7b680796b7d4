using FluentValidation;

namespace Cdp.Modules.Collection;

/// <summary>appsettings section <c>Cdp:Sources</c>: one entry per sending system.</summary>
internal sealed class SourcesOptions() : Dictionary<string, SourceOptions>(StringComparer.Ordinal)
{
    public const string Section = "Cdp:Sources";
}

internal sealed class SourceOptions
{
    /// <summary>The Segment write key SDKs send (HTTP Basic user name, or "writeKey" in the body).</summary>
    public string WriteKey { get; set; } = "";

    /// <summary>Reject invalid events with 400 instead of keeping them as dead letters.</summary>
    public bool Strict { get; set; }

    /// <summary>Requests per second this write key may send (a token bucket with a burst of twice that); 0 = no limit.</summary>
    public int MaxRequestsPerSecond { get; set; }
}

internal sealed class SourcesOptionsValidator : AbstractValidator<SourcesOptions>
{
    public const int MinimumWriteKeyLength = 8;

    public SourcesOptionsValidator()
    {
        RuleFor(o => o).Custom((sources, ctx) =>
        {
            foreach (var (name, source) in sources)
            {
                if (string.IsNullOrWhiteSpace(source.WriteKey) || source.WriteKey.Length < MinimumWriteKeyLength)
                    ctx.AddFailure($"{name}:WriteKey", $"must be at least {MinimumWriteKeyLength} characters (the key SDKs send)");
                if (source.MaxRequestsPerSecond < 0)
                    ctx.AddFailure($"{name}:MaxRequestsPerSecond", "must be 0 (no limit) or a positive number of requests per second");
            }
            foreach (var dup in sources.GroupBy(s => s.Value.WriteKey, StringComparer.Ordinal).Where(g => g.Count() > 1))
                ctx.AddFailure($"{dup.Last().Key}:WriteKey", $"the same WriteKey is used by {string.Join(" and ", dup.Select(d => d.Key))}");
        });
    }
}

/// <summary>appsettings section <c>Cdp:Collection</c>.</summary>
internal sealed class CollectionOptions
{
    public const string Section = "Cdp:Collection";

    /// <summary>A messageId seen from the same source within this window is acknowledged but stored once.</summary>
    public TimeSpan DedupWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Most messageIds remembered for deduplication (about 70 bytes each: 5,000,000 is about 350 MB). Beyond it the oldest
    /// are forgotten before the end of the window, so memory stays bounded under a sustained high rate.
    /// </summary>
    public int DedupMaxEntries { get; set; } = 5_000_000;

    /// <summary>Events waiting for the group commit; beyond it requests get 429 with Retry-After.</summary>
    public int QueueCapacity { get; set; } = 100_000;

    /// <summary>Most events written in one LiteDB transaction by the group commit.</summary>
    public int MaxEventsPerCommit { get; set; } = 20_000;
}

internal sealed class CollectionOptionsValidator : AbstractValidator<CollectionOptions>
{
    public CollectionOptionsValidator()
    {
        RuleFor(o => o.DedupWindow).InclusiveBetween(TimeSpan.Zero, TimeSpan.FromDays(30));
        RuleFor(o => o.DedupMaxEntries).InclusiveBetween(1_000, 200_000_000);
        RuleFor(o => o.QueueCapacity).InclusiveBetween(Limits.MaxEventsPerBatch, 10_000_000);
        RuleFor(o => o.MaxEventsPerCommit).InclusiveBetween(1, 1_000_000);
    }
}

/// <summary>Limits of the Segment Tracking API, with Segment's values.</summary>
internal static class Limits
{
    public const int MaxEventBytes = 32 * 1024;
    public const int MaxBatchBytes = 500 * 1024;
    public const int MaxEventsPerBatch = 2_500;
    public const int MaxMessageIdLength = 100;
    public const int MaxPropertiesOrTraits = 300;
}

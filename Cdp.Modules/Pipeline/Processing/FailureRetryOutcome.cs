namespace Cdp.Modules.Pipeline.Processing;

/// <summary>What retrying a listed failure did.</summary>
internal sealed record FailureRetryOutcome(string Status, string? Error = null)
{
    public static readonly FailureRetryOutcome Applied = new("applied");
    public static readonly FailureRetryOutcome NotListed = new("not listed");
    public static readonly FailureRetryOutcome Discarded = new("discarded");
    public static readonly FailureRetryOutcome NotReached = new("not reached");

    public static FailureRetryOutcome FailedAgain(string error) => new("failed again", error);
}

using FluentValidation;

namespace Cdp.Modules.Pipeline.Processing;

/// <summary>appsettings section <c>Cdp:Profiles:Recovery</c>: how the processor rides out failures of its environment.</summary>
internal sealed class ProcessorRecoveryOptions
{
    public const string Section = "Cdp:Profiles:Recovery";

    /// <summary>The first wait after an environmental failure (I/O, disk full, the engine); it doubles after each failed retry.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between retries: a full disk that is freed is noticed within this time.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Attempts to load the processor's state at start (identity map, checkpoint, failures list), with the same backoff,
    /// before the processor gives up: it then fails every command at once, /health/ready is unhealthy and, with
    /// <see cref="StopHostWhenDead"/>, the host stops with exit code 5 for the service manager to restart it.
    /// </summary>
    public int LoadAttempts { get; set; } = 5;

    /// <summary>Stop the host (exit code 5) when the processor's thread is dead. Off only for tests and diagnosis.</summary>
    public bool StopHostWhenDead { get; set; } = true;
}

internal sealed class ProcessorRecoveryOptionsValidator : AbstractValidator<ProcessorRecoveryOptions>
{
    public ProcessorRecoveryOptionsValidator()
    {
        RuleFor(o => o.FirstRetryDelay).InclusiveBetween(TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10))
            .WithMessage("must be between 00:00:00.010 and 00:10:00");
        RuleFor(o => o.MaxRetryDelay).InclusiveBetween(TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1))
            .WithMessage("must be between 00:00:00.010 and 01:00:00");
        RuleFor(o => o.MaxRetryDelay).GreaterThanOrEqualTo(o => o.FirstRetryDelay).WithMessage("must not be shorter than FirstRetryDelay");
        RuleFor(o => o.LoadAttempts).InclusiveBetween(1, 100);
    }
}

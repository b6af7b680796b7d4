using FluentValidation;

namespace Cdp.Modules.Collection.Ingest;

/// <summary>The fields of one incoming Segment call that validation looks at.</summary>
internal sealed class TrackingEvent
{
    public required string Type { get; init; }
    public string? UserId { get; set; }
    public string? AnonymousId { get; set; }
    public string? Event { get; set; }
    public string? PreviousId { get; set; }
    public string? GroupId { get; set; }
    public string? MessageId { get; set; }
    /// <summary>The client's event time: timestamp, else originalTimestamp (null when absent).</summary>
    public DateTimeOffset? ClientTime { get; set; }
    public System.Text.Json.JsonElement TimestampRaw { get; set; }
    public System.Text.Json.JsonElement OriginalTimestampRaw { get; set; }
    /// <summary>The call's own sentAt, when readable (<see cref="SentAtRaw"/>: as sent, readable or not).</summary>
    public DateTimeOffset? SentAt { get; set; }
    public System.Text.Json.JsonElement SentAtRaw { get; set; }
    public int PropertyCount { get; set; }
    public int TraitCount { get; set; }
    public int SizeBytes { get; set; }

    /// <summary>Fields present with the wrong JSON type, e.g. ("timestamp", "must be an ISO-8601 date-time string").</summary>
    public List<(string Field, string Message)> ShapeErrors { get; } = [];
}

/// <summary>Segment's rules for one call, as Segment documents them.</summary>
internal sealed class TrackingEventValidator : AbstractValidator<TrackingEvent>
{
    public static readonly HashSet<string> KnownTypes = new(StringComparer.Ordinal)
        { "identify", "track", "page", "screen", "group", "alias" };

    public TrackingEventValidator()
    {
        RuleFor(e => e.Type).Must(KnownTypes.Contains)
            .WithMessage(e => $"unknown type '{e.Type}'; expected identify, track, page, screen, group or alias");
        RuleFor(e => e.SizeBytes).LessThanOrEqualTo(Limits.MaxEventBytes)
            .OverridePropertyName("event").WithMessage(e => $"the event is {e.SizeBytes} bytes; the limit is 32 KB per event");
        RuleFor(e => e.UserId).Must((e, _) => !string.IsNullOrEmpty(e.UserId) || !string.IsNullOrEmpty(e.AnonymousId))
            .When(e => e.Type != "alias")
            .OverridePropertyName("userId").WithMessage("userId or anonymousId is required");
        RuleFor(e => e.Event).NotEmpty().When(e => e.Type == "track")
            .OverridePropertyName("event").WithMessage("event is required for track");
        RuleFor(e => e.PreviousId).NotEmpty().When(e => e.Type == "alias")
            .OverridePropertyName("previousId").WithMessage("previousId is required for alias");
        RuleFor(e => e.UserId).NotEmpty().When(e => e.Type == "alias")
            .OverridePropertyName("userId").WithMessage("userId is required for alias");
        RuleFor(e => e.GroupId).NotEmpty().When(e => e.Type == "group")
            .OverridePropertyName("groupId").WithMessage("groupId is required for group");
        RuleFor(e => e.MessageId).MaximumLength(Limits.MaxMessageIdLength)
            .OverridePropertyName("messageId").WithMessage($"messageId must be at most {Limits.MaxMessageIdLength} characters");
        RuleFor(e => e.PropertyCount).LessThanOrEqualTo(Limits.MaxPropertiesOrTraits)
            .OverridePropertyName("properties").WithMessage($"at most {Limits.MaxPropertiesOrTraits} properties");
        RuleFor(e => e.TraitCount).LessThanOrEqualTo(Limits.MaxPropertiesOrTraits)
            .OverridePropertyName("traits").WithMessage($"at most {Limits.MaxPropertiesOrTraits} traits");
    }
}

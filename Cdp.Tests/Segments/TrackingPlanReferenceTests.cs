using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Profiles;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Language;
using Microsoft.Extensions.Options;

namespace Cdp.Tests.Segments;

/// <summary>
/// Which references segments and computed traits ask the tracking plans about: every track event named in a condition
/// (however deep, negated or not) and every properties.… path of its filter; not page/screen/any-event conditions, not
/// context.… or traits.… paths; an unplanned event is one warning, not one per property.
/// </summary>
public sealed class TrackingPlanReferenceTests
{
    /// <summary>A plan with "Appointment Booked" (clinic, order.total) and "Order Completed" (revenue), answering as the contract says.</summary>
    private sealed class Plans(bool anyPlan = true) : ITrackingPlans
    {
        private static readonly Dictionary<string, string[]> Events = new(StringComparer.Ordinal)
        {
            ["Appointment Booked"] = ["clinic", "order.total"],
            ["Order Completed"] = ["revenue"],
        };

        public List<(string Event, string? Property)> Asked { get; } = [];

        public bool AnySourceHasAPlan => anyPlan;

        public string? UnplannedTrackReference(string eventName, string? propertyPath = null)
        {
            Asked.Add((eventName, propertyPath));
            if (!anyPlan) return null;
            if (!Events.TryGetValue(eventName, out var properties)) return $"the event \"{eventName}\" is in no plan";
            return propertyPath is null || properties.Contains(propertyPath) ? null : $"\"{eventName}\" has no property {propertyPath} in any plan";
        }

        public IReadOnlyList<TrackingPlanViolationCount> ViolationsSince(DateTime from) => [];
    }

    private static IReadOnlyList<string> Of(string where, Plans? plans = null) =>
        new SegmentPlanWarnings(plans ?? new Plans(), Options.Create(new SegmentSettings())).Of(SegmentParser.Parse(where));

    [Theory]
    [InlineData("performed \"Appointment Booked\"")]
    [InlineData("performed track \"Appointment Booked\" where properties.clinic = \"North\" and properties.order.total > 10 within 30d")]
    [InlineData("performed page \"Pricing\" where properties.path = \"/\"")]
    [InlineData("performed any event where properties.location exists")]
    [InlineData("performed track where properties.location exists")]
    [InlineData("performed \"Appointment Booked\" where context.page.path = \"/\" and traits.location exists")]
    [InlineData("traits.location = \"West\" and computed.orders_30d > 2")]
    public void A_condition_on_planned_events_and_properties_or_on_what_plans_do_not_list_by_name_has_no_warning(string where) =>
        Of(where).Should().BeEmpty();

    [Fact]
    public void An_unplanned_event_anywhere_in_the_condition_is_one_warning_naming_it_even_when_named_twice_or_filtered()
    {
        var warnings = Of("traits.plan exists and not (performed \"appointment booked\" where properties.location = \"x\" or performed \"appointment booked\" within 7d)");
        warnings.Should().Equal("the event \"appointment booked\" is in no plan");
    }

    [Fact]
    public void An_unplanned_property_in_a_filter_however_nested_is_a_warning_naming_the_property()
    {
        var warnings = Of("performed \"Appointment Booked\" where (properties.clinic = \"N\" and not (properties.location exists or properties.order.count > 1)) at least 2 times");
        warnings.Should().Equal("\"Appointment Booked\" has no property location in any plan", "\"Appointment Booked\" has no property order.count in any plan");
    }

    [Fact]
    public void Without_a_plan_nothing_is_asked_nor_warned_of()
    {
        var plans = new Plans(anyPlan: false);
        Of("performed \"anything\" where properties.location exists", plans).Should().BeEmpty();
        plans.Asked.Should().BeEmpty();
    }

    [Fact]
    public void Config_segments_warnings_name_the_key_and_a_definition_that_does_not_parse_is_left_to_the_validation()
    {
        var settings = new SegmentSettings
        {
            ["west"] = new() { Where = "performed \"Appointment Booked\" where properties.location = \"West\"" },
            ["fine"] = new() { Where = "performed \"Order Completed\" where properties.revenue > 100" },
            ["broken"] = new() { Where = "performed \"Nope\" where (" },
        };
        new SegmentPlanWarnings(new Plans(), Options.Create(settings)).Warnings()
            .Should().Equal("Cdp:Segments:west:Where: \"Appointment Booked\" has no property location in any plan");
    }

    [Fact]
    public void Computed_traits_of_type_track_warn_of_their_event_property_and_where_paths_naming_the_key()
    {
        var options = new ProfilesOptions
        {
            ComputedTraits = new(StringComparer.Ordinal)
            {
                ["cancellations"] = new() { Kind = ComputedKind.Count, Event = "Appointment Cancelled", Property = "reason" },
                ["north_total"] = new() { Kind = ComputedKind.Sum, Event = "Appointment Booked", Property = "order.total", Where = new() { ["clinic"] = "North" } },
                ["rooms"] = new() { Kind = ComputedKind.Unique, Event = "Appointment Booked", Property = "room", Where = new() { ["floor"] = "2", ["clinic"] = "North" } },
                ["pages"] = new() { Kind = ComputedKind.Count, Type = "page", Event = "Pricing" },
                ["all_tracks"] = new() { Kind = ComputedKind.Count },
            },
        };
        new ComputedTraitPlanWarnings(new Plans(), Options.Create(options)).Warnings().Should().Equal(
            "Cdp:Profiles:ComputedTraits:cancellations:Event: the event \"Appointment Cancelled\" is in no plan",
            "Cdp:Profiles:ComputedTraits:rooms:Property: \"Appointment Booked\" has no property room in any plan",
            "Cdp:Profiles:ComputedTraits:rooms:Where:floor: \"Appointment Booked\" has no property floor in any plan");
    }
}

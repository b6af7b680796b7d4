using System.Text.RegularExpressions;

namespace Cdp.Modules.Activation.Configuration;

/// <summary>
/// Google Ads Customer Match (<c>Type: GoogleCustomerMatch</c>): the account, the user list, the API access (developer token
/// and an OAuth client with a refresh token) and which Cdp consent purposes stand for Google's EU user consent fields.
/// Secrets can come from environment variables, e.g. <c>Cdp__Destinations__ads__RefreshToken</c>.
/// </summary>
internal sealed partial class DestinationSettings
{
    /// <summary>GoogleCustomerMatch: the Google Ads account (customer id) that owns the user list, 10 digits ("123-456-7890" is accepted).</summary>
    public string CustomerId { get; set; } = "";

    /// <summary>GoogleCustomerMatch: the manager account the OAuth user reaches the customer through (login-customer-id header); empty: none.</summary>
    public string LoginCustomerId { get; set; } = "";

    /// <summary>GoogleCustomerMatch: the id of the Customer Match user list (customers/{CustomerId}/userLists/{UserListId}).</summary>
    public string UserListId { get; set; } = "";

    /// <summary>GoogleCustomerMatch: the Google Ads API developer token (developer-token header).</summary>
    public string DeveloperToken { get; set; } = "";

    /// <summary>GoogleCustomerMatch: the OAuth 2.0 client id and secret the refresh token was issued to.</summary>
    public string ClientId { get; set; } = "";

    public string ClientSecret { get; set; } = "";

    /// <summary>GoogleCustomerMatch: the OAuth 2.0 refresh token (scope https://www.googleapis.com/auth/adwords) access tokens are obtained with.</summary>
    public string RefreshToken { get; set; } = "";

    /// <summary>The vendor API version in every path; empty: the type's default (GoogleCustomerMatch <see cref="GoogleCustomerMatchSettings.DefaultApiVersion"/>, MetaCustomAudience v21.0).</summary>
    public string ApiVersion { get; set; } = "";

    /// <summary>GoogleCustomerMatch: Google's OAuth 2.0 token endpoint (set only for tests or a proxy).</summary>
    public string TokenUrl { get; set; } = GoogleCustomerMatchSettings.DefaultTokenUrl;

    /// <summary>GoogleCustomerMatch: the Cdp consent purpose that stands for Google's ad_user_data consent; empty: not asked (UNSPECIFIED).</summary>
    public string AdUserDataConsent { get; set; } = GoogleCustomerMatchSettings.AdvertisingPurpose;

    /// <summary>GoogleCustomerMatch: the Cdp consent purpose that stands for Google's ad_personalization consent; empty: not asked (UNSPECIFIED).</summary>
    public string AdPersonalizationConsent { get; set; } = GoogleCustomerMatchSettings.AdvertisingPurpose;
}

/// <summary>Defaults and the validation of the Google Customer Match settings (called by <see cref="ActivationOptionsValidator"/>).</summary>
internal static partial class GoogleCustomerMatchSettings
{
    /// <summary>The API version used when ApiVersion is empty: v25, the newest version whose protos (googleapis, 2026-08) the tests check requests against.</summary>
    public const string DefaultApiVersion = "v25";

    public const string DefaultTokenUrl = "https://oauth2.googleapis.com/token";

    public const string DefaultApiRoot = "https://googleads.googleapis.com";

    /// <summary>The consent purpose ad audiences ask for unless a sync says otherwise.</summary>
    public const string AdvertisingPurpose = "advertising";

    /// <summary>
    /// Google: at most 100,000 user identifiers per addOperations request (across all its operations), and Google recommends
    /// about 10,000 per call; Cdp sends at most 3 per member (email, phone, address), so 10,000 members is the default batch.
    /// </summary>
    public const int DefaultBatch = 10_000, MaxOperations = 100_000;

    /// <summary>The destination fields a Customer Match sync may map (FieldMappings keys): identifiers besides the email.</summary>
    public static readonly IReadOnlyList<string> Fields = ["phone", "firstName", "lastName", "countryCode", "postalCode"];

    public static string Version(DestinationSettings d) => d.ApiVersion.Length > 0 ? d.ApiVersion : DefaultApiVersion;

    /// <summary>Customer ids go in paths and headers as 10 digits: the dashes of "123-456-7890" are dropped.</summary>
    public static string Digits(string customerId) => customerId.Replace("-", "", StringComparison.Ordinal).Trim();

    public static void Validate(string name, DestinationSettings d, Action<string, string> fail)
    {
        if (!CustomerIdPattern().IsMatch(Digits(d.CustomerId))) fail("CustomerId", "must be the Google Ads customer id, 10 digits (e.g. 123-456-7890)");
        if (d.LoginCustomerId.Length > 0 && !CustomerIdPattern().IsMatch(Digits(d.LoginCustomerId)))
            fail("LoginCustomerId", "must be the manager account's customer id, 10 digits, or empty");
        if (!UserListPattern().IsMatch(d.UserListId)) fail("UserListId", "must be the id (digits) of the Customer Match user list");
        foreach (var (key, value) in new[] { ("DeveloperToken", d.DeveloperToken), ("ClientId", d.ClientId), ("ClientSecret", d.ClientSecret), ("RefreshToken", d.RefreshToken) })
            if (string.IsNullOrWhiteSpace(value)) fail(key, "is required (" + SettingNames.EnvironmentHint(name, key) + ")");
        if (d.ApiVersion.Length > 0 && !VersionPattern().IsMatch(d.ApiVersion)) fail("ApiVersion", "must be a Google Ads API version such as \"v25\", or empty");
        if (!(Uri.TryCreate(d.TokenUrl, UriKind.Absolute, out var t) && t.Scheme is "http" or "https")) fail("TokenUrl", "must be an absolute http(s) URL");
        if (d.BatchSize is < 0 or > MaxOperations) fail("BatchSize", $"must be 0 ({DefaultBatch}) to {MaxOperations}: Google takes at most 100,000 identifiers per request");
        if (d.AdUserDataConsent is { Length: > 0 } a && string.IsNullOrWhiteSpace(a)) fail("AdUserDataConsent", "must name a consent purpose or be empty");
        if (d.AdPersonalizationConsent is { Length: > 0 } p && string.IsNullOrWhiteSpace(p)) fail("AdPersonalizationConsent", "must name a consent purpose or be empty");
    }

    public static void ValidateSync(SyncSettings s, Action<string, string> fail)
    {
        foreach (var field in s.FieldMappings.Keys)
            if (!Fields.Contains(field, StringComparer.Ordinal))
                fail($"FieldMappings:{field}", $"'{field}' is not a Customer Match identifier: use {string.Join(", ", Fields)} (the email is the sync's Identifier; the value is ValueTrait)");
    }

    [GeneratedRegex("^[0-9]{10}$")]
    private static partial Regex CustomerIdPattern();

    [GeneratedRegex("^[0-9]{1,20}$")]
    private static partial Regex UserListPattern();

    [GeneratedRegex("^v[0-9]{1,3}$")]
    private static partial Regex VersionPattern();
}

using System.Net.Http.Headers;
using System.Text;
using Cdp.Modules.Activation.Configuration;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// Where each email platform's API lives and how a request to it is authorised: one place for the sync sessions and the
/// privacy calls (erasure, unsubscribe) that talk to the same vendors.
/// </summary>
internal static class VendorApi
{
    /// <summary>BaseUrl when set (tests, proxies), else the vendor's API root (Mailchimp: https://&lt;dc&gt;.api.mailchimp.com from the key's suffix "...-us21").</summary>
    public static string Root(DestinationSettings d) => d.BaseUrl.Length > 0
        ? d.BaseUrl.TrimEnd('/')
        : d.Kind switch
        {
            DestinationType.Mailchimp => $"https://{d.ApiKey[(d.ApiKey.LastIndexOf('-') + 1)..]}.api.mailchimp.com",
            DestinationType.Brevo => "https://api.brevo.com",
            DestinationType.SendGrid => "https://api.sendgrid.com",
            _ => throw new ArgumentOutOfRangeException(nameof(d), d.Kind, "not an email platform"),
        };

    /// <summary>The vendor's authentication: Mailchimp Basic (any user, the key as password), Brevo api-key, SendGrid Bearer.</summary>
    public static void Authorize(HttpRequestMessage request, DestinationSettings d)
    {
        switch (d.Kind)
        {
            case DestinationType.Mailchimp:
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("cdp:" + d.ApiKey)));
                break;
            case DestinationType.Brevo:
                request.Headers.Add("api-key", d.ApiKey);
                request.Headers.Accept.ParseAdd("application/json");
                break;
            case DestinationType.SendGrid:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", d.ApiKey);
                break;
        }
    }
}

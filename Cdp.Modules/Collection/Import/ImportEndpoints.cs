using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Cdp.Modules.Collection.Import;

/// <summary>POST /api/collection/imports: a CSV body streamed into the event log (admin).</summary>
internal static class ImportEndpoints
{
    /// <summary>Uploads bigger than Kestrel's default body limit are expected (a CRM export): 1 GB.</summary>
    public const long MaxUploadBytes = 1L << 30;

    public static void Map(IEndpointRouteBuilder group)
    {
        group.MapPost("/imports", async Task<Results<Ok<CsvImportReport>, ProblemHttpResult>> (
            HttpContext ctx, ICsvImport import,
            [FromQuery] string source, [FromQuery] string map, [FromQuery(Name = "event")] string? eventName,
            [FromQuery] string? fileName, [FromQuery] string? delimiter, [FromQuery] string? encoding, CancellationToken ct) =>
        {
            var sizeLimit = ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>();
            if (sizeLimit is { IsReadOnly: false }) sizeLimit.MaxRequestBodySize = MaxUploadBytes;
            if (delimiter is { Length: > 1 })
                return TypedResults.Problem(title: "Invalid import", detail: "delimiter must be one character, e.g. ; or %09 for tab", statusCode: 400);
            try
            {
                var request = new CsvImportRequest(source, [map], eventName, fileName, delimiter is { Length: 1 } ? delimiter[0] : ',', encoding);
                return TypedResults.Ok(await import.ImportAsync(ctx.Request.Body, request, null, ct));
            }
            catch (CsvImportRejectedException ex)
            {
                return TypedResults.Problem(title: "Invalid import", detail: ex.Message, statusCode: 400);
            }
            catch (CsvImportStoppedException ex)
            {
                // the rows before the line were imported: the report says how many
                return TypedResults.Problem(title: "Import stopped", detail: ex.Message, statusCode: 400, extensions: new Dictionary<string, object?>
                {
                    ["line"] = ex.Line, ["byteOffset"] = ex.ByteOffset, ["report"] = ex.Report,
                });
            }
        }).RequireAdmin().WithName("ImportCsv")
          .WithSummary("Import a CSV file: ?source=crm&map=userId=CustomerID,traits.email=Email[&event=Order Placed][&encoding=latin1]");
    }
}

using Cdp.Modules.Governance.Contracts;
using Cdp.Modules.Shared.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Cdp.Modules.Governance.Operations;

internal sealed record BackupRequest(string? Folder);

/// <summary>POST /api/admin/backup: the running server copies its database files consistently into a folder (admin).</summary>
internal static class BackupEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/admin/backup", async Task<Results<Created<BackupReport>, BadRequest<ProblemDetails>, Conflict<ProblemDetails>>> (IDatabaseBackup backup, BackupRequest? request) =>
        {
            try
            {
                // The copy blocks its thread (LiteDB binds the transaction to it): off the request thread.
                var report = await Task.Factory.StartNew(() => backup.CreateInBackupRoot(request?.Folder), TaskCreationOptions.LongRunning);
                return TypedResults.Created((string?)null, report);
            }
            catch (BackupPathRefusedException ex)
            {
                return TypedResults.BadRequest(new ProblemDetails { Title = "Backup folder refused", Status = 400, Detail = ex.Message });
            }
            catch (BackupRefusedException ex)
            {
                return TypedResults.Conflict(new ProblemDetails { Title = "Backup refused", Status = 409, Detail = ex.Message });
            }
        })
        .RequireAdmin()
        .WithTags("Operations")
        .WithName("CreateBackup")
        .WithSummary("A consistent copy of cdp.db and the jobs file in a new folder inside the backup root (Cdp:Storage:BackupRoot, default backups/ beside cdp.db; default folder: <UTC time>)");
    }
}

using Cdp.Modules.Activation.Configuration;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Cdp.Modules.Activation.Destinations;

/// <summary>
/// Uploads finished files with SSH.NET: the server's host key must match the pinned SHA256 fingerprint (otherwise the
/// connection is refused before any credential is sent); each file goes to "&lt;name&gt;.tmp" and is renamed when complete.
/// </summary>
internal static class SftpUpload
{
    public static async Task UploadAsync(SftpSettings s, IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        AuthenticationMethod auth = s.PrivateKeyPath.Length > 0
            ? new PrivateKeyAuthenticationMethod(s.User, s.PrivateKeyPassphrase.Length > 0 ? new PrivateKeyFile(s.PrivateKeyPath, s.PrivateKeyPassphrase) : new PrivateKeyFile(s.PrivateKeyPath))
            : new PasswordAuthenticationMethod(s.User, s.Password);
        var info = new Renci.SshNet.ConnectionInfo(s.Host, s.Port, s.User, auth) { Timeout = s.Timeout };
        using var client = new SftpClient(info);
        var pinned = Normalise(s.HostKeyFingerprint);
        string? offered = null;
        client.HostKeyReceived += (_, e) =>
        {
            offered = e.FingerPrintSHA256;
            e.CanTrust = Normalise(e.FingerPrintSHA256) == pinned;
        };
        try
        {
            await client.ConnectAsync(cancellationToken);
        }
        catch (SshConnectionException ex) when (offered is not null && Normalise(offered) != pinned)
        {
            throw new DestinationUnavailableException($"SFTP {s.Host}:{s.Port}: host key SHA256:{offered} does not match the pinned Sftp:HostKeyFingerprint; nothing was uploaded", ex);
        }
        catch (Exception ex) when (ex is SshException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw new DestinationUnavailableException($"SFTP {s.Host}:{s.Port}: {ex.Message}", ex);
        }
        try
        {
            foreach (var file in files)
            {
                var remote = (s.RemoteFolder.TrimEnd('/') is { Length: > 0 } folder ? folder + "/" : "") + Path.GetFileName(file);
                await using (var stream = File.OpenRead(file))
                    await client.UploadFileAsync(stream, remote + ".tmp", cancellationToken);
                if (await client.ExistsAsync(remote, cancellationToken)) await client.DeleteFileAsync(remote, cancellationToken);
                await client.RenameFileAsync(remote + ".tmp", remote, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is SshException or IOException)
        {
            throw new DestinationUnavailableException($"SFTP upload to {s.Host}:{s.Port} failed: {ex.Message}", ex);
        }
        finally
        {
            client.Disconnect();
        }
    }

    private static string Normalise(string fingerprint) =>
        (fingerprint.StartsWith("SHA256:", StringComparison.Ordinal) ? fingerprint[7..] : fingerprint).TrimEnd('=');
}

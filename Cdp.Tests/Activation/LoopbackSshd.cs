using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cdp.Tests.Support;

namespace Cdp.Tests.Activation;

/// <summary>
/// A real OpenSSH server on loopback for SFTP tests: `/usr/sbin/sshd -D -e -p &lt;port&gt; -f &lt;generated config&gt;` with a fresh
/// ed25519 host key and one authorized client key, all in a temp folder. Needs Debian's openssh-server (CI installs it).
/// </summary>
public sealed class LoopbackSshd : IDisposable
{
    public const string SshdPath = "/usr/sbin/sshd";

    private readonly TempFolder _folder = new();
    private readonly Process _process;

    public static string? MissingReason =>
        !File.Exists(SshdPath) ? $"{SshdPath} is not installed (apt-get install -y openssh-server)"
        : !File.Exists("/usr/bin/ssh-keygen") ? "/usr/bin/ssh-keygen is not installed (apt-get install -y openssh-client)"
        : null;

    public LoopbackSshd()
    {
        Run("/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", _folder.File("host_key"));
        Run("/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", _folder.File("client_key"));
        File.Copy(_folder.File("client_key.pub"), _folder.File("authorized_keys"));
        // ssh-keygen -lf prints "256 SHA256:<base64> comment (ED25519)"
        HostKeyFingerprint = Run("/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", _folder.File("host_key.pub")).Split(' ')[1];
        RemoteFolder = _folder.File("inbox");
        Directory.CreateDirectory(RemoteFolder);
        if (Environment.UserName == "root") Directory.CreateDirectory("/run/sshd"); // sshd's privilege separation directory
        Port = FreePort();
        File.WriteAllText(_folder.File("sshd_config"), string.Join('\n',
            $"ListenAddress 127.0.0.1",
            $"HostKey {_folder.File("host_key")}",
            $"PidFile {_folder.File("sshd.pid")}",
            $"AuthorizedKeysFile {_folder.File("authorized_keys")}",
            "StrictModes no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            $"AllowUsers {Environment.UserName}",
            "Subsystem sftp internal-sftp",
            "") );
        _process = Process.Start(new ProcessStartInfo(SshdPath, ["-D", "-e", "-p", Port.ToString(), "-f", _folder.File("sshd_config")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (Log) Log.Add(e.Data); };
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!Listening())
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
                throw new InvalidOperationException("sshd did not start: " + string.Join("\n", Log));
            Thread.Sleep(50);
        }
    }

    public List<string> Log { get; } = [];

    public int Port { get; }

    public string User => Environment.UserName;

    public string PrivateKeyPath => _folder.File("client_key");

    public string HostKeyFingerprint { get; }

    public string RemoteFolder { get; }

    private bool Listening()
    {
        try
        {
            using var c = new TcpClient();
            c.Connect(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static string Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {error}");
        return output.Trim();
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        _folder.Dispose();
    }
}

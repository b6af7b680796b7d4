using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cdp.Tests.Support;
using FluentAssertions;

namespace Cdp.Tests.Shared;

/// <summary>
/// Idle connections past Cdp:Http:MaxConcurrentConnections are closed by Kestrel at once; the process lives and answers
/// again when the flood ends. (Without a limit, ~20,000 idle connections reached the fd limit and the runtime aborted
/// the process: "Out of memory.", exit 134.) Loopback only, 100 connections, a few seconds.
/// </summary>
public sealed class ConnectionLimitTests
{
    private const int Limit = 50;
    private const int Excess = 50;

    [Fact]
    public async Task Connections_past_the_limit_are_closed_at_once_and_the_host_answers_again_when_the_flood_ends()
    {
        using var host = new CdpHost(new Dictionary<string, string?> { ["Cdp:Http:MaxConcurrentConnections"] = Limit.ToString() });
        var address = new Uri(host.ServerAddress);
        var flood = new List<Socket>();
        try
        {
            for (var i = 0; i < Limit + Excess; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, address.Port); // the kernel completes the handshake; Kestrel decides
                flood.Add(socket);
            }

            // a connection Kestrel refused is closed by it: readable with nothing to read (or reset)
            static bool ClosedByServer(Socket s)
            {
                try
                {
                    return s.Poll(0, SelectMode.SelectRead) && s.Available == 0;
                }
                catch (SocketException)
                {
                    return true;
                }
            }

            var clock = Stopwatch.StartNew();
            var closed = 0;
            while (clock.Elapsed < TimeSpan.FromSeconds(15))
            {
                closed = flood.Count(ClosedByServer);
                if (closed >= Excess) break;
                await Task.Delay(50);
            }
            await Task.Delay(300); // a moment more: the ones kept must stay kept
            closed = flood.Count(ClosedByServer);

            closed.Should().Be(Excess, $"Kestrel keeps {Limit} connections and closes the rest (it closed {closed} of {flood.Count})");
        }
        finally
        {
            foreach (var socket in flood) socket.Dispose();
        }

        // the process lives: a fresh connection is served once the flood is gone (Kestrel frees the slots as it sees the closes)
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        HttpStatusCode? status = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(15) && status != HttpStatusCode.OK)
        {
            try
            {
                status = (await client.GetAsync("/health/live")).StatusCode;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }
        status.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_invalid_connection_limit_stops_the_host_with_exit_code_2_naming_the_key()
    {
        using var folder = new TempFolder();
        var (exitCode, output) = await CdpProcess.RunToExitAsync(folder.Path,
            "check-config", $"--Cdp:Storage:Path={folder.File("cdp.db")}", "--Cdp:Http:MaxConcurrentConnections=0");
        exitCode.Should().Be(2, output);
        output.Should().Contain("Cdp:Http:MaxConcurrentConnections").And.Contain("file-descriptor limit");
    }
}

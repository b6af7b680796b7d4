using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Util;

namespace Cdp.Tests.Activation;

/// <summary>One request as a fake saw it.</summary>
public sealed record FakeRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public JsonNode? Json => Body.Length == 0 ? null : JsonNode.Parse(Body);

    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : null;
}

public sealed record FakeResponse(int Status, string? Body = null, IReadOnlyDictionary<string, string>? Headers = null)
{
    public static FakeResponse Json(int status, object body, IReadOnlyDictionary<string, string>? headers = null) =>
        new(status, JsonSerializer.Serialize(body), headers);
}

/// <summary>
/// An in-process HTTP fake of a vendor API on WireMock.Net: one catch-all mapping hands every request to <see cref="Handle"/>,
/// which keeps the vendor's state. Faults can be queued (first match wins, used once). Every request is recorded.
/// </summary>
public abstract class VendorFake : IDisposable
{
    private readonly WireMockServer _server;
    private readonly List<(Func<FakeRequest, bool> Match, FakeResponse Response)> _faults = [];
    private readonly object _gate = new();

    protected VendorFake()
    {
        _server = WireMockServer.Start();
        _server.Given(Request.Create().UsingAnyMethod()).RespondWith(Response.Create().WithCallback(Respond));
    }

    public string Url => _server.Url!;

    public ConcurrentQueue<FakeRequest> Requests { get; } = new();

    /// <summary>The vendor's published OpenAPI contract every request is checked against (null: none is vendored).</summary>
    public VendorContract? Contract { get; init; }

    /// <summary>Every way a request broke <see cref="Contract"/>, naming the operation and the field.</summary>
    public ConcurrentQueue<string> ContractViolations { get; } = new();

    public int Count(string method, string pathStart) => Requests.Count(r => r.Method == method && r.Path.StartsWith(pathStart, StringComparison.Ordinal));

    /// <summary>The next <paramref name="times"/> requests that match get <paramref name="response"/> instead of the vendor's answer.</summary>
    public void Fail(Func<FakeRequest, bool> match, FakeResponse response, int times = 1)
    {
        lock (_gate) for (var i = 0; i < times; i++) _faults.Add((match, response));
    }

    /// <summary>Sleeps this long on the next request (outside the fake's lock), then answers: makes the sender time out.</summary>
    public TimeSpan StallNext { get; set; }

    protected abstract FakeResponse Handle(FakeRequest request);

    private IResponseMessage Respond(IRequestMessage message)
    {
        var request = new FakeRequest(message.Method, message.Path, message.RawQuery ?? "",
            message.Headers?.ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value)) ?? new Dictionary<string, string>(),
            message.Body ?? "");
        Requests.Enqueue(request);
        foreach (var violation in Contract?.Check(request) ?? []) ContractViolations.Enqueue(violation);
        FakeResponse? fault = null;
        TimeSpan stall = TimeSpan.Zero;
        lock (_gate)
        {
            var index = _faults.FindIndex(f => f.Match(request));
            if (index >= 0)
            {
                fault = _faults[index].Response;
                _faults.RemoveAt(index);
            }
            else
            {
                stall = StallNext;
                StallNext = TimeSpan.Zero;
            }
        }
        if (stall > TimeSpan.Zero) Thread.Sleep(stall); // outside the lock: other requests are not held up
        FakeResponse response;
        if (fault is not null) response = fault;
        else lock (_gate) response = Handle(request);
        var result = new ResponseMessage { StatusCode = response.Status, Headers = new Dictionary<string, WireMockList<string>>() };
        result.Headers["Content-Type"] = new WireMockList<string>("application/json");
        foreach (var (k, v) in response.Headers ?? new Dictionary<string, string>()) result.Headers[k] = new WireMockList<string>(v);
        if (response.Body is not null)
            result.BodyData = new BodyData { BodyAsString = response.Body, DetectedBodyType = BodyType.String, Encoding = Encoding.UTF8 };
        return result;
    }

    public void Dispose()
    {
        _server.Dispose(); // stops the server (calling Stop first as well can throw inside WireMock)
        GC.SuppressFinalize(this);
    }
}

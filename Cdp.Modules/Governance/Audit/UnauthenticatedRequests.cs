using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Cdp.Modules.Shared.Http;
using Cdp.Modules.Shared.Modules;
using Microsoft.Extensions.Options;

namespace Cdp.Modules.Governance.Audit;

/// <summary>
/// Requests under /api and /jobs without a valid key: all counted (per route pattern and remote address, for /metrics), and
/// at most <see cref="AuditOptions.UnauthenticatedRecordsPerMinute"/> of them a minute recorded one by one in the audit log;
/// the rest (and every request to a route that does not exist) are tallied per minute into one summary record (count and
/// the busiest addresses). So a client without a key can make the audit log grow by a bounded amount a minute, whatever
/// it sends, while "who was refused, from where, how often" stays answerable.
/// </summary>
[Service]
internal sealed class UnauthenticatedRequests(IOptions<AuditOptions> options, TimeProvider clock) : IMetricsSource
{
    /// <summary>Route label of requests that matched no endpoint.</summary>
    public const string Unmatched = "(unmatched)";

    /// <summary>Address label once <see cref="MaxLabelledAddresses"/> addresses have their own.</summary>
    public const string OtherAddresses = "(other)";

    /// <summary>
    /// Distinct (route, address) label sets with their own sample: Prometheus keeps every label set as a series, so a client
    /// cycling source addresses must not mint new ones. Beyond this, new addresses count under "(other)" (bounded by the
    /// number of routes).
    /// </summary>
    public const int MaxLabelledAddresses = 100;

    /// <summary>Addresses named in one summary record (the busiest first).</summary>
    public const int SummaryAddresses = 5;

    private sealed class Tally
    {
        public long Value;
    }

    private readonly ConcurrentDictionary<(string Route, string Address), Tally> _counts = new();
    private readonly Lock _window = new();
    private long _windowStart = long.MinValue;
    private int _recordedInWindow;
    private Dictionary<string, long> _unrecorded = new(StringComparer.Ordinal);
    private long _unrecordedSince;
    private long _unrecordedTotal;
    private long _rateLimited;

    /// <summary>Counts a request without a valid key for /metrics.</summary>
    public void Count(string route, string address)
    {
        var key = (route, address);
        if (!_counts.TryGetValue(key, out var tally))
        {
            if (_counts.Count >= MaxLabelledAddresses) key = (route, OtherAddresses);
            tally = _counts.GetOrAdd(key, _ => new Tally());
        }
        Interlocked.Increment(ref tally.Value);
    }

    /// <summary>A 429 of the per-address limit.</summary>
    public void RateLimited() => Interlocked.Increment(ref _rateLimited);

    /// <summary>
    /// True when this request may be recorded one by one (within the minute's bound); false: it was tallied for the
    /// summary record instead. <paramref name="oneByOne"/> false (an unknown route) always tallies.
    /// </summary>
    public bool TryRecord(string address, bool oneByOne)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var minute = now.Ticks - now.Ticks % TimeSpan.TicksPerMinute;
        lock (_window)
        {
            if (minute != _windowStart)
            {
                _windowStart = minute;
                _recordedInWindow = 0;
            }
            if (oneByOne && _recordedInWindow < options.Value.UnauthenticatedRecordsPerMinute)
            {
                _recordedInWindow++;
                return true;
            }
            if (_unrecorded.Count == 0) _unrecordedSince = now.Ticks;
            var bucket = _unrecorded.ContainsKey(address) || _unrecorded.Count < MaxLabelledAddresses ? address : OtherAddresses;
            _unrecorded[bucket] = _unrecorded.GetValueOrDefault(bucket) + 1;
            Interlocked.Increment(ref _unrecordedTotal);
            return false;
        }
    }

    /// <summary>
    /// The requests tallied since the last summary, once their minute is over (null when there are none, or the minute
    /// still runs): how many, since when, and the busiest addresses ("127.0.0.1 ×2980, 10.0.0.7 ×20, +3 more").
    /// </summary>
    public (long Count, DateTime Since, string Addresses)? TakeSummary()
    {
        var now = clock.GetUtcNow().UtcDateTime;
        Dictionary<string, long> taken;
        long since;
        lock (_window)
        {
            if (_unrecorded.Count == 0) return null;
            // one summary a minute at most: the tally is taken once the minute of its first request is over
            if (now.Ticks - now.Ticks % TimeSpan.TicksPerMinute == _unrecordedSince - _unrecordedSince % TimeSpan.TicksPerMinute) return null;
            taken = _unrecorded;
            since = _unrecordedSince;
            _unrecorded = new Dictionary<string, long>(StringComparer.Ordinal);
        }
        var busiest = taken.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToList();
        var named = string.Join(", ", busiest.Take(SummaryAddresses).Select(p => $"{p.Key} ×{p.Value}"));
        if (busiest.Count > SummaryAddresses) named += $", +{busiest.Count - SummaryAddresses} more";
        return (taken.Values.Sum(), new DateTime(since, DateTimeKind.Utc), named);
    }

    /// <summary>
    /// The remote address as a label: IPv4 as is; IPv6 by its /64 network (one host usually holds a whole /64, so single
    /// addresses would let it mint label sets and dodge a per-address limit).
    /// </summary>
    public static string AddressOf(IPAddress? address)
    {
        if (address is null) return "(unknown)";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6 || IPAddress.IsLoopback(address)) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    public void Register(CdpMetrics metrics)
    {
        metrics.Counter("cdp_unauthenticated_requests_total",
            $"Requests under /api and /jobs without a valid key, per route pattern and remote address (IPv6 per /64; beyond {MaxLabelledAddresses} label sets new addresses count as \"(other)\").",
            () => _counts.OrderBy(p => p.Key.Route, StringComparer.Ordinal).ThenBy(p => p.Key.Address, StringComparer.Ordinal)
                .Select(p => ((IReadOnlyList<(string, string)>)[("route", p.Key.Route), ("address", p.Key.Address)], Interlocked.Read(ref p.Value.Value))));
        metrics.Counter("cdp_unauthenticated_rate_limited_total", "Requests without a valid key answered 429 by the per-address limit.", () => Interlocked.Read(ref _rateLimited));
        metrics.Counter("cdp_audit_unrecorded_total",
            "Audited requests not recorded one by one (without a key beyond the per-minute bound, or to unknown routes); summarised in one audit record a minute.",
            () => Interlocked.Read(ref _unrecordedTotal));
    }
}

using Cdp.Modules.Shared.Modules;

namespace Cdp.Modules.Collection.Ingest;

/// <summary>Counts POST /v1/m: analytics.js's telemetry about itself, accepted so the SDK logs no error, never stored.</summary>
[Service]
internal sealed class SdkMetricsRequests
{
    private long _total;

    public long Total => Interlocked.Read(ref _total);

    public void Add() => Interlocked.Increment(ref _total);
}

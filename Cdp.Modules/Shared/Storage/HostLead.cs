using Microsoft.Extensions.Options;

namespace Cdp.Modules.Shared.Storage;

/// <summary>
/// Whether this host runs the profile processor now. With one host per database it always does; with several
/// (Cdp:Storage:Hosts = Several) the one holding the processor's lock does, and the lead moves when that host stops.
/// Work that must run beside the processor, because the processor keeps in memory what that work changes (segment builds
/// and sweeps, matching runs), runs only where <see cref="Leads"/> holds. Set by the processor (Pipeline), read by any
/// module: it lives here so that modules below Pipeline (Scheduling) can read it.
/// </summary>
public sealed class HostLead(IOptions<StorageOptions> storage)
{
    private readonly bool _shared = storage.Value.SeveralHosts;
    private int _leads = storage.Value.SeveralHosts ? 0 : 1;

    /// <summary>Another host may lead (Cdp:Storage:Hosts = Several); false means this host always leads.</summary>
    public bool Shared => _shared;

    public bool Leads => Volatile.Read(ref _leads) == 1;

    /// <summary>Raised when this host takes or loses the lead (never with one host per database), on the processor's thread: keep handlers short.</summary>
    public event Action<bool>? Changed;

    /// <summary>The processor took (true) or lost (false) the lead. Ignored with one host per database, which always leads.</summary>
    public void Set(bool leads)
    {
        if (!_shared) return;
        if (Interlocked.Exchange(ref _leads, leads ? 1 : 0) == (leads ? 1 : 0)) return;
        Changed?.Invoke(leads);
    }
}

using System.Text.Json;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Profiles.Projection;
using Cdp.Modules.Shared.Memory;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Profiles.Processing;

/// <summary>
/// The next batch, read on a pool thread while the current batch writes (the write phase keeps one core busy; reading
/// the log and the stored profiles the next events will need is most of the rest of the work, and the second core is
/// otherwise idle but for the GC). It reads only committed state and the in-memory identity map, which nothing changes
/// during the write phase; the processor waits for it before it publishes the batch (identity map, profile cache).
/// Correctness: a profile read here is the committed document as it was before the current batch committed, so every
/// profile the current batch touched is dropped (<see cref="Forget"/>); the others are unchanged by that commit.
/// Profiles the processor's cache holds are taken out of it (the processor thread leaves the cache alone until it has
/// waited for this): otherwise the current batch's commit, which puts its own profiles in the cache, would evict many
/// of them before the next batch could use them.
/// </summary>
internal sealed class ReadAhead
{
    private readonly Dictionary<long, ProfileState> _profiles;

    private ReadAhead(long after, IReadOnlyList<LoggedEvent> events, Dictionary<long, ProfileState> profiles, IIdentityReadAhead identity)
    {
        After = after;
        Events = events;
        _profiles = profiles;
        Identity = identity;
    }

    /// <summary>The identity nodes read ahead, for the next identity batch.</summary>
    public IIdentityReadAhead Identity { get; }

    /// <summary>The checkpoint the events follow: the batch is valid only as the one right after it.</summary>
    public long After { get; }

    public IReadOnlyList<LoggedEvent> Events { get; }

    /// <summary>Stored profiles read ahead, taken out by the batch that uses them.</summary>
    public IDictionary<long, ProfileState> Profiles => _profiles;

    /// <summary>
    /// Reads up to <paramref name="max"/> events after <paramref name="after"/> and the profiles that own their identifiers:
    /// from <paramref name="cache"/> when it holds them, else stored, except those the current batch holds (<paramref name="held"/>).
    /// </summary>
    public static ReadAhead Read(long after, int max, IEventLog log, IIdentityReadAhead identity, CdpDatabase db, Func<long, bool> held,
        BoundedCache<ProfileState> cache)
    {
        var events = log.ReadAfter(after, max);
        var profiles = new Dictionary<long, ProfileState>();
        var owners = new List<long>(4);
        var collection = db.Collection(ProfileSchema.Profiles);
        foreach (var e in events)
        {
            owners.Clear();
            try
            {
                using var doc = JsonDocument.Parse(e.Json);
                identity.Add(doc.RootElement, owners);
            }
            catch (JsonException) { continue; } // the log holds validated JSON; the batch itself reports anything else
            foreach (var p in owners)
            {
                if (profiles.ContainsKey(p) || held(p)) continue;
                if (cache.Take(p) is { } cached) profiles[p] = cached;
                else if (collection.ById(p) is { } d && ProfileState.FromBson(d) is { Into: 0 } state) profiles[p] = state;
            }
        }
        return new ReadAhead(after, events, profiles, identity);
    }

    /// <summary>Drops the profiles a committed batch changed: what was read of them is older than that commit.</summary>
    public void Forget(IEnumerable<long> changed)
    {
        foreach (var p in changed) _profiles.Remove(p);
    }
}

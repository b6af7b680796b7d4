using Cdp.Modules.Collection.EventLog;

namespace Cdp.Tests.Collection;

/// <summary>
/// The dedup index is an open-addressing table over a ring of pairs; a slip in its deletion or growth would forget a
/// pair (a duplicate stored twice) or invent one (an event acknowledged and never stored). Checked against the plain
/// model it replaced: a set of keys and a queue in arrival order.
/// </summary>
public sealed class DedupIndexTests
{
    private static readonly DateTime Start = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(1, 50)]
    [InlineData(2, 1_000)]
    [InlineData(3, 3_000)]
    [InlineData(4, 100_000)]
    public void Random_adds_expiries_and_evictions_answer_like_a_set_and_a_queue(int seed, int maxEntries)
    {
        var random = new Random(seed);
        var window = TimeSpan.FromMinutes(10);
        var index = new DedupIndex(window, maxEntries);
        var model = new Model(window, maxEntries);
        // keys from a small space so that re-sends (duplicates) are frequent; some keys share their low bits (the home slot)
        UInt128 Draw() => random.Next(4) == 0
            ? ((UInt128)(ulong)random.Next(500) << 64) | (ulong)random.Next(8)
            : ((UInt128)(ulong)random.NextInt64() << 64) | (ulong)random.Next(20_000);
        var now = Start;
        for (var step = 0; step < 60_000; step++)
        {
            now = now.AddMilliseconds(random.Next(0, 40));
            var key = Draw();
            if (index.Contains(key) != model.Contains(key)) Assert.Fail($"step {step}: the index says {index.Contains(key)}, the model {model.Contains(key)}");
            index.Add(key, now);
            model.Add(key, now);
            if (random.Next(200) == 0)
            {
                index.Expire(now);
                model.Expire(now);
            }
            if (step % 997 == 0 && (index.Count != model.Count || index.EvictedEarly != model.EvictedEarly))
                Assert.Fail($"step {step}: {index.Count} pairs ({index.EvictedEarly} evicted), the model {model.Count} ({model.EvictedEarly})");
        }
        index.Count.Should().Be(model.Count);
        model.Keys.Where(k => !index.Contains(k)).Should().BeEmpty();
    }

    [Fact]
    public void A_full_index_forgets_its_oldest_pair_first_and_counts_it()
    {
        var index = new DedupIndex(TimeSpan.FromDays(1), maxEntries: 3);
        for (var i = 1; i <= 4; i++) index.Add("web", "m" + i, Start.AddSeconds(i));
        index.Contains(DedupIndex.Key("web", "m1")).Should().BeFalse();
        foreach (var m in new[] { "m2", "m3", "m4" }) index.Contains(DedupIndex.Key("web", m)).Should().BeTrue();
        index.Count.Should().Be(3);
        index.EvictedEarly.Should().Be(1);
    }

    [Fact]
    public void Pairs_older_than_the_window_expire_and_may_be_sent_again()
    {
        var index = new DedupIndex(TimeSpan.FromHours(1), maxEntries: 1_000);
        index.Add("web", "old", Start);
        index.Add("web", "new", Start.AddMinutes(50));
        index.Expire(Start.AddMinutes(61));
        index.Contains(DedupIndex.Key("web", "old")).Should().BeFalse();
        index.Contains(DedupIndex.Key("web", "new")).Should().BeTrue();
        index.Count.Should().Be(1);
        index.EvictedEarly.Should().Be(0);
    }

    [Fact]
    public void A_zero_window_keeps_nothing()
    {
        var index = new DedupIndex(TimeSpan.Zero, maxEntries: 1_000);
        index.Add("web", "m1", Start);
        index.Contains(DedupIndex.Key("web", "m1")).Should().BeFalse();
        index.Count.Should().Be(0);
    }

    private sealed class Model(TimeSpan window, int maxEntries)
    {
        private readonly HashSet<UInt128> _seen = [];
        private readonly Queue<(UInt128 Key, DateTime At)> _order = new();

        public int Count => _seen.Count;
        public long EvictedEarly { get; private set; }
        public IEnumerable<UInt128> Keys => _seen;
        public bool Contains(UInt128 key) => _seen.Contains(key);

        public void Add(UInt128 key, DateTime at)
        {
            if (!_seen.Add(key)) return;
            _order.Enqueue((key, at));
            if (_seen.Count <= maxEntries) return;
            _seen.Remove(_order.Dequeue().Key);
            EvictedEarly++;
        }

        public void Expire(DateTime now)
        {
            while (_order.TryPeek(out var head) && head.At < now - window) _seen.Remove(_order.Dequeue().Key);
        }
    }
}

using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Collection.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Collection.EventLog;

/// <summary>
/// The event log's part of a person: their events. Erasure rewrites those events in place, in their chunks: the event keeps
/// its place (sequence), type, messageId (the dedup window needs it), timestamps and track event name; everything else
/// (userId, anonymousId, previousId, traits, properties, context, integrations...) goes. With no identifier left, a reprocess
/// attributes it to nobody, so the person never comes back from the log.
/// Dead letters are a holder of their own (DeadLetters/DeadLetterPersonalData).
/// </summary>
[Service]
internal sealed class EventLogPersonalData(IEventLog log, IEventLogStore store) : IPersonalDataHolder
{
    /// <summary>Fields an erased event keeps: none of them says who the person is.</summary>
    private static readonly string[] Kept = ["type", "messageId", "receivedAt", "timestamp", "originalTimestamp", "sentAt"];

    /// <summary>Events per log read in an export: neighbours in the log cost one read.</summary>
    private const int ReadSpan = 512;

    public string Section => "events";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx) =>
        new Dictionary<string, long> { ["events"] = store.Rewrite(tx, subject.EventSequences, Strip) };

    /// <summary>The erased form of one event: the kept fields, the track event name, and "erased": true.</summary>
    public static byte[] Strip(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var name in Kept)
                if (root.TryGetProperty(name, out var v)) { w.WritePropertyName(name); v.WriteTo(w); }
            if (root.TryGetProperty("type", out var t) && t.ValueEquals("track") && root.TryGetProperty("event", out var ev) && ev.ValueKind == JsonValueKind.String)
                w.WriteString("event", ev.GetString());
            w.WriteBoolean("erased", true);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var result = new JsonArray();
        var sequences = subject.EventSequences.Order().ToList();
        var i = 0;
        while (i < sequences.Count)
        {
            var first = sequences[i];
            var span = 1;
            while (i + span < sequences.Count && sequences[i + span] - first < ReadSpan) span++;
            var wanted = new HashSet<long>(sequences.Skip(i).Take(span));
            foreach (var e in log.ReadAfter(first - 1, (int)(sequences[i + span - 1] - first + 1)))
            {
                if (!wanted.Contains(e.Sequence)) continue;
                var node = JsonNode.Parse(e.Json.Span)!.AsObject();
                node["sequence"] = e.Sequence;
                node["source"] = e.Source;
                result.Add(node);
            }
            i += span;
        }
        return result;
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Cdp.Modules.Identity.Contracts;
using Cdp.Modules.Shared.Modules;
using Cdp.Modules.Shared.Privacy;
using Cdp.Modules.Shared.Storage;

namespace Cdp.Modules.Pipeline.Processing;

/// <summary>
/// The processor failures list's part of a person (processor_failures): an event the processor set aside is the person's
/// when it is one of the subject's events (the log search finds the events carrying their identifiers anywhere), or when
/// its exception message or stack quotes one of their identifiers in any spelling. Export lists those failures; erasure
/// deletes them (the event itself is erased in the log by the log's holder), so a retry or reprocess has nothing of the
/// person left to apply.
/// </summary>
[Service]
internal sealed class ProcessorFailurePersonalData(IProcessorStore store, ProcessorFailures failures, IIdentifierReader identifiers) : IPersonalDataHolder
{
    /// <summary>Identifier values shorter than this are not searched for as plain text (a short id would match unrelated messages).</summary>
    private const int MinTextMatchLength = 6;

    /// <summary>Sequences deleted by the last <see cref="Erase"/> (processor thread), dropped from the in-memory index once committed.</summary>
    private List<long> _erased = [];

    public string Section => "processorFailures";

    public IReadOnlyDictionary<string, long> Erase(PersonalDataSubject subject, IUnitOfWork tx)
    {
        var match = Matcher(subject);
        // no index but the sequence: failures are few (each one waits for an admin)
        var ids = store.AllFailures().Where(match).Select(f => f.Sequence).ToList();
        store.DeleteFailures(tx, ids);
        _erased = ids;
        return new Dictionary<string, long> { ["processorFailures"] = ids.Count };
    }

    public void Erased(PersonalDataSubject subject)
    {
        foreach (var sequence in _erased) failures.Committed(sequence, null);
        _erased = [];
    }

    public JsonNode? Export(PersonalDataSubject subject)
    {
        var match = Matcher(subject);
        return new JsonArray(store.AllFailures().Where(match)
            .Select(f => System.Text.Json.JsonSerializer.SerializeToNode(f, JsonSerializerOptions.Web)).ToArray());
    }

    private Func<ProcessorFailureView, bool> Matcher(PersonalDataSubject subject)
    {
        var sequences = subject.EventSequences.ToHashSet();
        var keys = subject.Identifiers.ToHashSet(StringComparer.Ordinal);
        var types = keys.Select(k => k[..k.IndexOf(':')]).ToHashSet(StringComparer.Ordinal);
        var values = keys.Select(k => k[(k.IndexOf(':') + 1)..]).Where(v => v.Length >= MinTextMatchLength).ToList();
        return d =>
        {
            if (sequences.Contains(d.Sequence)) return true;
            var text = d.Message + "\n" + d.Stack;
            return values.Any(v => text.Contains(v, StringComparison.OrdinalIgnoreCase)) || identifiers.IdentifiersInText(text, types.Contains).Overlaps(keys);
        };
    }
}

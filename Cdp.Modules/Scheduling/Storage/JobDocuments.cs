using Hangfire.Common;
using Hangfire.States;
using Hangfire.Storage;
using LiteDB;

namespace Cdp.Modules.Scheduling.Storage;

/// <summary>
/// How jobs, states and string maps are written into BsonDocuments. String maps are stored as arrays of
/// [name, value] pairs, because BsonDocument field names are case-insensitive and Hangfire's are not.
/// Times are UTC ticks (Int64): LiteDB would hand DateTimes back in local time.
/// </summary>
internal static class JobDocuments
{
    public static BsonArray Pairs(IEnumerable<KeyValuePair<string, string?>> map)
    {
        var array = new BsonArray();
        foreach (var (name, value) in map) array.Add(new BsonArray { name, value is null ? BsonValue.Null : new BsonValue(value) });
        return array;
    }

    public static Dictionary<string, string?> Map(BsonValue pairs, StringComparer comparer)
    {
        var map = new Dictionary<string, string?>(comparer);
        if (!pairs.IsArray) return map;
        foreach (var pair in pairs.AsArray)
        {
            var p = pair.AsArray;
            map[p[0].AsString] = p[1].IsNull ? null : p[1].AsString;
        }
        return map;
    }

    /// <summary>Sets <paramref name="name"/> in a pair array, replacing an existing pair of that exact name.</summary>
    public static void SetPair(BsonArray pairs, string name, string? value)
    {
        var bson = value is null ? BsonValue.Null : new BsonValue(value);
        foreach (var pair in pairs)
        {
            var p = pair.AsArray;
            if (string.Equals(p[0].AsString, name, StringComparison.Ordinal))
            {
                p[1] = bson;
                return;
            }
        }
        pairs.Add(new BsonArray { name, bson });
    }

    public static string? GetPair(BsonValue pairs, string name)
    {
        if (!pairs.IsArray) return null;
        foreach (var pair in pairs.AsArray)
        {
            var p = pair.AsArray;
            if (string.Equals(p[0].AsString, name, StringComparison.Ordinal)) return p[1].IsNull ? null : p[1].AsString;
        }
        return null;
    }

    public static BsonDocument NewJob(long id, InvocationData invocation, IDictionary<string, string?> parameters, DateTime createdAt, DateTime? expireAt)
    {
        return new BsonDocument
        {
            ["_id"] = id,
            [JobFields.Type] = invocation.Type,
            [JobFields.Method] = invocation.Method,
            [JobFields.ParameterTypes] = invocation.ParameterTypes,
            [JobFields.Arguments] = invocation.Arguments,
            [JobFields.Queue] = invocation.Queue is null ? BsonValue.Null : new BsonValue(invocation.Queue),
            [JobFields.CreatedAt] = ToTicks(createdAt),
            [JobFields.ExpireAt] = expireAt is { } e ? new BsonValue(ToTicks(e)) : BsonValue.Null,
            [JobFields.Parameters] = Pairs(parameters),
            [JobFields.State] = BsonValue.Null,
            [JobFields.StateKey] = BsonValue.Null,
            [JobFields.History] = new BsonArray(),
        };
    }

    public static BsonDocument State(IState state, DateTime createdAt)
    {
        var data = state.SerializeData();
        return new BsonDocument
        {
            [StateFields.Name] = state.Name,
            [StateFields.Reason] = state.Reason is null ? BsonValue.Null : new BsonValue(state.Reason),
            [StateFields.CreatedAt] = ToTicks(createdAt),
            [StateFields.Data] = Pairs(data!),
        };
    }

    public static string StateKey(string stateName, long jobId) => Keys.Compose(stateName, Keys.Id(jobId));

    public static InvocationData Invocation(BsonDocument job) => new(
        job[JobFields.Type].AsString,
        job[JobFields.Method].AsString,
        job[JobFields.ParameterTypes].AsString,
        job[JobFields.Arguments].AsString,
        job[JobFields.Queue].IsNull ? null : job[JobFields.Queue].AsString);

    /// <summary>The job, or the reason it cannot be loaded (a type that is gone after an upgrade, say).</summary>
    public static (Job? Job, JobLoadException? LoadException) Load(InvocationData invocation)
    {
        try
        {
            return (invocation.DeserializeJob(), null);
        }
        catch (JobLoadException ex)
        {
            return (null, ex);
        }
    }

    public static string? StateName(BsonDocument job) =>
        job[JobFields.State].IsDocument ? job[JobFields.State][StateFields.Name].AsString : null;

    public static long ToTicks(DateTime time) => time.Kind == DateTimeKind.Local ? time.ToUniversalTime().Ticks : time.Ticks;

    public static DateTime FromTicks(long ticks) => new(ticks, DateTimeKind.Utc);

    public static DateTime? FromTicks(BsonValue ticks) => ticks.IsNull ? null : FromTicks(ticks.AsInt64);

    /// <summary>A TTL as Hangfire reports it: infinite when the value never expires, zero when it is overdue.</summary>
    public static TimeSpan Ttl(long? expireAtTicks, DateTime now)
    {
        if (expireAtTicks is null) return Timeout.InfiniteTimeSpan;
        var left = FromTicks(expireAtTicks.Value) - now;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }
}

using System.Text;
using System.Text.Json;
using Cdp.Modules.Segments.Definitions;
using Cdp.Modules.Segments.Evaluation;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;
using NpgsqlTypes;

namespace Cdp.Modules.Segments.Membership.PostgreSql;

/// <summary>
/// Segments in PostgreSQL. The segment lock is a transaction-scoped advisory lock (released at commit or rollback); under
/// READ COMMITTED each statement after it sees every commit made before it was granted. Definitions are keyed by their
/// lower-case key (keys are case-insensitive, as on LiteDB), the rest of a definition is a JSON record (names, descriptions
/// and conditions came from an admin). Members sort their profile ids in the "C" collation: the ordinal paging order.
/// History causes name events from outside: bytea.
/// </summary>
internal sealed class PostgresSegmentStore(PostgresDatabase database) : ISegmentStore
{
    /// <summary>"cdp_segs" in ASCII: the advisory lock of segment state.</summary>
    public const long SegmentLock = 0x6364705F73656773;

    private readonly NpgsqlDataSource dataSource = database.DataSource;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);

    public static readonly SchemaMigration V1 = new("Segments", 1, "definitions, profile states, members, history, state", """
        CREATE TABLE cdp_segment_definitions (
            id     text  PRIMARY KEY,
            record bytea NOT NULL
        );
        CREATE TABLE cdp_segment_state (
            id    text  PRIMARY KEY,
            value bytea NOT NULL
        );
        CREATE TABLE cdp_segment_profiles (
            profile bigint PRIMARY KEY,
            state   bytea  NOT NULL
        );
        CREATE TABLE cdp_segment_members (
            segment integer            NOT NULL,
            profile text COLLATE "C"   NOT NULL,
            at      timestamptz        NOT NULL,
            PRIMARY KEY (segment, profile)
        );
        CREATE TABLE cdp_segment_history (
            id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            segment integer     NOT NULL,
            key     text        NOT NULL,
            profile bigint      NOT NULL,
            entered boolean     NOT NULL,
            at      timestamptz NOT NULL,
            cause   bytea       NOT NULL
        );
        CREATE INDEX cdp_segment_history_segment ON cdp_segment_history (segment, id);
        CREATE INDEX cdp_segment_history_profile ON cdp_segment_history (profile, id);
        """);

    public ISegmentWrites Lock(IUnitOfWork tx, DateTime now)
    {
        var pg = tx.Postgres();
        using var cmd = pg.Command("SELECT pg_advisory_xact_lock($1)");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = SegmentLock });
        cmd.ExecuteNonQuery();
        return new Writes(pg);
    }

    public void Prepare()
    {
    }

    public SegmentLive Live()
    {
        using var conn = database.Open();
        return Rows.Live(conn, null);
    }

    public IReadOnlyDictionary<string, int> KeptCounters()
    {
        using var conn = database.Open();
        return Rows.Kept(conn, null);
    }

    public ProfileSegmentState? State(long profile)
    {
        using var conn = database.Open();
        return Rows.States(conn, null, profile, profile).GetValueOrDefault(profile);
    }

    public Dictionary<long, ProfileSegmentState> States(long first, long last)
    {
        using var conn = database.Open();
        return Rows.States(conn, null, first, last);
    }

    public List<string> MemberPage(int segmentNo, string after, int limit)
    {
        using var cmd = dataSource.CreateCommand("SELECT profile FROM cdp_segment_members WHERE segment = $1 AND profile > $2 ORDER BY profile LIMIT $3");
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = segmentNo });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = after });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, limit) });
        using var r = cmd.ExecuteReader();
        var result = new List<string>();
        while (r.Read()) result.Add(r.GetString(0));
        return result;
    }

    public DateTime? MemberSince(int segmentNo, string profileId)
    {
        using var cmd = dataSource.CreateCommand("SELECT at FROM cdp_segment_members WHERE segment = $1 AND profile = $2");
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = segmentNo });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = profileId });
        return cmd.ExecuteScalar() is DateTime at ? at : null;
    }

    private const string EntryColumns = "id, segment, key, profile, entered, at, cause";

    public IEnumerable<(string Profile, DateTime At)> Members(int segmentNo)
    {
        using var cmd = dataSource.CreateCommand("SELECT profile, at FROM cdp_segment_members WHERE segment = $1");
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = segmentNo });
        using var r = cmd.ExecuteReader();
        var result = new List<(string, DateTime)>();
        while (r.Read()) result.Add((r.GetString(0), r.GetFieldValue<DateTime>(1)));
        return result;
    }

    public List<SegmentDefinition> Definitions()
    {
        using var conn = database.Open();
        return Rows.Definitions(conn, null);
    }

    public int? StoredNextNumber()
    {
        using var conn = database.Open();
        return Rows.StateValue(conn, null, "numbers") is { } bytes ? JsonSerializer.Deserialize<int>(bytes) : null;
    }

    public List<MembershipEntry> History(int? segmentNo, long? profile, long? before, int take)
    {
        var where = new List<string>();
        using var cmd = dataSource.CreateCommand();
        if (segmentNo is { } s) { cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = s }); where.Add($"segment = ${cmd.Parameters.Count}"); }
        if (profile is { } p) { cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = p }); where.Add($"profile = ${cmd.Parameters.Count}"); }
        if (before is { } b) { cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = b }); where.Add($"id < ${cmd.Parameters.Count}"); }
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, take) });
        cmd.CommandText = $"SELECT {EntryColumns} FROM cdp_segment_history {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} ORDER BY id DESC LIMIT ${cmd.Parameters.Count}";
        return Entries(cmd);
    }

    public List<MembershipEntry> HistoryOf(IReadOnlyCollection<long> profiles)
    {
        using var cmd = dataSource.CreateCommand($"SELECT {EntryColumns} FROM cdp_segment_history WHERE profile = ANY($1) ORDER BY id");
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = profiles.ToArray() });
        return Entries(cmd);
    }

    private static List<MembershipEntry> Entries(NpgsqlCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var result = new List<MembershipEntry>();
        while (r.Read())
            result.Add(new MembershipEntry(r.GetInt64(0), r.GetInt32(1), r.GetString(2), r.GetInt64(3), r.GetBoolean(4), r.GetFieldValue<DateTime>(5),
                Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(6))));
        return result;
    }

    /// <summary>Reads shared by the committed view and the locked transaction.</summary>
    private static class Rows
    {
        public static NpgsqlCommand Command(NpgsqlConnection c, NpgsqlTransaction? t, string sql) => new(sql, c, t);

        public static byte[]? StateValue(NpgsqlConnection c, NpgsqlTransaction? t, string id)
        {
            using var cmd = Command(c, t, "SELECT value FROM cdp_segment_state WHERE id = $1");
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
            return cmd.ExecuteScalar() as byte[];
        }

        public static List<SegmentDefinition> Definitions(NpgsqlConnection c, NpgsqlTransaction? t)
        {
            using var cmd = Command(c, t, "SELECT record FROM cdp_segment_definitions");
            using var r = cmd.ExecuteReader();
            var result = new List<SegmentDefinition>();
            while (r.Read()) result.Add(JsonSerializer.Deserialize<SegmentDefinition>(r.GetFieldValue<byte[]>(0), Json)!);
            return result;
        }

        public static SegmentLive Live(NpgsqlConnection c, NpgsqlTransaction? t) =>
            StateValue(c, t, "live") is { } bytes ? JsonSerializer.Deserialize<SegmentLive>(bytes, Json)! : new SegmentLive();

        public static IReadOnlyDictionary<string, int> Kept(NpgsqlConnection c, NpgsqlTransaction? t) =>
            StateValue(c, t, "counters") is { } bytes ? JsonSerializer.Deserialize<Dictionary<string, int>>(bytes, Json)! : new Dictionary<string, int>();

        public static Dictionary<long, ProfileSegmentState> States(NpgsqlConnection c, NpgsqlTransaction? t, long first, long last)
        {
            using var cmd = Command(c, t, "SELECT profile, state FROM cdp_segment_profiles WHERE profile BETWEEN $1 AND $2");
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = first });
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = last });
            using var r = cmd.ExecuteReader();
            var result = new Dictionary<long, ProfileSegmentState>();
            while (r.Read()) result[r.GetInt64(0)] = StateCodec.Read(r.GetInt64(0), r.GetFieldValue<byte[]>(1));
            return result;
        }
    }

    private sealed class Writes(PostgresUnitOfWork pg) : ISegmentWrites
    {
        private NpgsqlCommand Command(string sql) => pg.Command(sql);

        public List<SegmentDefinition> Definitions() => Rows.Definitions(pg.Connection, pg.Transaction);

        public SegmentDefinition? Definition(string key)
        {
            using var cmd = Command("SELECT record FROM cdp_segment_definitions WHERE id = $1");
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.ToLowerInvariant() });
            return cmd.ExecuteScalar() is byte[] record ? JsonSerializer.Deserialize<SegmentDefinition>(record, Json) : null;
        }

        public void PutDefinition(SegmentDefinition definition)
        {
            using var cmd = Command("INSERT INTO cdp_segment_definitions (id, record) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET record = excluded.record");
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = definition.Key.ToLowerInvariant() });
            cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = JsonSerializer.SerializeToUtf8Bytes(definition, Json) });
            cmd.ExecuteNonQuery();
            Changed();
        }

        public void DeleteDefinition(string key)
        {
            using var cmd = Command("DELETE FROM cdp_segment_definitions WHERE id = $1");
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.ToLowerInvariant() });
            cmd.ExecuteNonQuery();
            Changed();
        }

        private bool _announced;

        /// <summary>Other hosts reload their segment catalogue when this transaction commits (once per transaction).</summary>
        private void Changed()
        {
            if (_announced) return;
            PostgresChangeFeed.Announce(pg, ChangeTopics.Segments);
            _announced = true;
        }

        public int NextNumber()
        {
            var stored = Rows.StateValue(pg.Connection, pg.Transaction, "numbers") is { } bytes ? JsonSerializer.Deserialize<int>(bytes) : 1;
            var next = Math.Max(stored, Definitions().Select(d => d.No).DefaultIfEmpty(0).Max() + 1);
            SaveState("numbers", JsonSerializer.SerializeToUtf8Bytes(next + 1));
            return next;
        }

        private void SaveState(string id, byte[] value)
        {
            using var cmd = Command("INSERT INTO cdp_segment_state (id, value) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET value = excluded.value");
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
            cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = value });
            cmd.ExecuteNonQuery();
        }

        public void SetNextNumber(int next) => SaveState("numbers", JsonSerializer.SerializeToUtf8Bytes(next));

        public void ImportHistory(IReadOnlyList<MembershipEntry> entries)
        {
            if (entries.Count == 0) return;
            using var batch = new NpgsqlBatch(pg.Connection, pg.Transaction);
            batch.Add("""
                INSERT INTO cdp_segment_history (id, segment, key, profile, entered, at, cause) OVERRIDING SYSTEM VALUE
                SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[], $5::bool[], $6::timestamptz[], $7::bytea[])
                """,
                new NpgsqlParameter<long[]> { TypedValue = entries.Select(e => e.Id).ToArray() },
                new NpgsqlParameter<int[]> { TypedValue = entries.Select(e => e.Segment).ToArray() },
                new NpgsqlParameter<string[]> { TypedValue = entries.Select(e => e.Key).ToArray() },
                new NpgsqlParameter<long[]> { TypedValue = entries.Select(e => e.Profile).ToArray() },
                new NpgsqlParameter<bool[]> { TypedValue = entries.Select(e => e.Entered).ToArray() },
                new NpgsqlParameter<DateTime[]> { TypedValue = entries.Select(e => e.At.ToUniversalTime()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz },
                new NpgsqlParameter<byte[][]> { TypedValue = entries.Select(e => Encoding.UTF8.GetBytes(e.Cause)).ToArray() });
            // later appends take ids after the imported ones
            batch.Add("SELECT setval(pg_get_serial_sequence('cdp_segment_history', 'id'), (SELECT max(id) FROM cdp_segment_history))");
            batch.ExecuteNonQuery();
        }

        public SegmentLive Live() => Rows.Live(pg.Connection, pg.Transaction);

        public void SaveLive(SegmentLive live) => SaveState("live", JsonSerializer.SerializeToUtf8Bytes(live, Json));

        public IReadOnlyDictionary<string, int> KeptCounters() => Rows.Kept(pg.Connection, pg.Transaction);

        public void SaveKeptCounters(IReadOnlyDictionary<string, int> kept) => SaveState("counters", JsonSerializer.SerializeToUtf8Bytes(kept, Json));

        public IEnumerable<long> StateIds()
        {
            using var cmd = Command("SELECT profile FROM cdp_segment_profiles");
            using var r = cmd.ExecuteReader();
            var result = new List<long>();
            while (r.Read()) result.Add(r.GetInt64(0));
            return result;
        }

        public ProfileSegmentState? State(long profile) => Rows.States(pg.Connection, pg.Transaction, profile, profile).GetValueOrDefault(profile);

        public Dictionary<long, ProfileSegmentState> States(long first, long last) => Rows.States(pg.Connection, pg.Transaction, first, last);

        public void SaveState(ProfileSegmentState state)
        {
            using var cmd = Command("INSERT INTO cdp_segment_profiles (profile, state) VALUES ($1, $2) ON CONFLICT (profile) DO UPDATE SET state = excluded.state");
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = state.Profile });
            cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = StateCodec.Write(state) });
            cmd.ExecuteNonQuery();
        }

        public void DeleteState(long profile)
        {
            using var cmd = Command("DELETE FROM cdp_segment_profiles WHERE profile = $1");
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = profile });
            cmd.ExecuteNonQuery();
        }

        public void AddMember(int segmentNo, string profileId, DateTime at)
        {
            using var cmd = Command("INSERT INTO cdp_segment_members (segment, profile, at) VALUES ($1, $2, $3) ON CONFLICT (segment, profile) DO UPDATE SET at = excluded.at");
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = segmentNo });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = profileId });
            cmd.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = at.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
            cmd.ExecuteNonQuery();
        }

        public bool RemoveMember(int segmentNo, string profileId)
        {
            using var cmd = Command("DELETE FROM cdp_segment_members WHERE segment = $1 AND profile = $2");
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = segmentNo });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = profileId });
            return cmd.ExecuteNonQuery() > 0;
        }

        public void ClearMembers(int segmentNo)
        {
            using var cmd = Command("DELETE FROM cdp_segment_members WHERE segment = $1");
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = segmentNo });
            cmd.ExecuteNonQuery();
        }

        public void AppendHistory(MembershipEntry e)
        {
            using var cmd = Command("INSERT INTO cdp_segment_history (segment, key, profile, entered, at, cause) VALUES ($1, $2, $3, $4, $5, $6)");
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = e.Segment });
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Key });
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = e.Profile });
            cmd.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = e.Entered });
            cmd.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = e.At.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
            cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(e.Cause) });
            cmd.ExecuteNonQuery();
        }

        public long DeleteHistoryOf(IReadOnlyCollection<long> profiles)
        {
            using var cmd = Command("DELETE FROM cdp_segment_history WHERE profile = ANY($1)");
            cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = profiles.ToArray() });
            return cmd.ExecuteNonQuery();
        }

        public void Reset(IEnumerable<int> segmentNos)
        {
            using var cmd = Command("TRUNCATE cdp_segment_profiles, cdp_segment_history, cdp_segment_members; DELETE FROM cdp_segment_state WHERE id = 'live'");
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>A profile's segment state as bytes: counters (id, total, days) and memberships.</summary>
    private static class StateCodec
    {
        public static byte[] Write(ProfileSegmentState s)
        {
            using var stream = new MemoryStream();
            using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            {
                w.Write((byte)1);
                w.Write7BitEncodedInt(s.Counters.Count);
                foreach (var (id, counter) in s.Counters)
                {
                    w.Write(id);
                    w.Write7BitEncodedInt64(counter.Total);
                    w.Write7BitEncodedInt(counter.Days.Count);
                    foreach (var (day, count) in counter.Days)
                    {
                        w.Write7BitEncodedInt(day);
                        w.Write7BitEncodedInt64(count);
                    }
                }
                w.Write7BitEncodedInt(s.Members.Count);
                foreach (var m in s.Members.Order()) w.Write7BitEncodedInt(m);
            }
            return stream.ToArray();
        }

        public static ProfileSegmentState Read(long profile, byte[] bytes)
        {
            using var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
            if (r.ReadByte() != 1) throw new InvalidDataException($"segment state of profile {profile} has an unknown format");
            var s = new ProfileSegmentState(profile) { Stored = true };
            var counters = r.Read7BitEncodedInt();
            for (var i = 0; i < counters; i++)
            {
                var id = r.ReadString();
                var total = r.Read7BitEncodedInt64();
                var n = r.Read7BitEncodedInt();
                var days = new List<(int, long)>(n);
                for (var j = 0; j < n; j++) days.Add((r.Read7BitEncodedInt(), r.Read7BitEncodedInt64()));
                s.Counters[id] = EventCounter.Of(total, days);
            }
            var members = r.Read7BitEncodedInt();
            for (var i = 0; i < members; i++) s.Members.Add(r.Read7BitEncodedInt());
            return s;
        }
    }
}

/// <summary>The Segments module's migrations.</summary>
internal sealed class SegmentsPostgresSchema : IPostgresSchema
{
    public IEnumerable<SchemaMigration> Migrations => [PostgresSegmentStore.V1];
}

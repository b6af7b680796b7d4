using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;
using NpgsqlTypes;

namespace Cdp.Modules.Identity.Graph.PostgreSql;

/// <summary>
/// The identity graph in PostgreSQL: one table per kind of record, keyed as on LiteDB. Columns for what is looked up or
/// filtered (profile, "into", kind, sequence, status, the two sides of a link); the rest of a record is one bytea
/// (<see cref="IdentityRows"/>). A batch's writes are one round trip (an <see cref="NpgsqlBatch"/> of array statements).
/// </summary>
internal sealed class PostgresIdentityStore(PostgresDatabase database) : IIdentityStore
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;

    public static readonly SchemaMigration V1 = new("Identity", 1, "identity graph", """
        CREATE TABLE cdp_identity_nodes (
            profile      bigint PRIMARY KEY,
            into_profile bigint NOT NULL DEFAULT 0,
            node         bytea
        );
        CREATE TABLE cdp_identity_keys (
            key     bytea   PRIMARY KEY,
            profile bigint  NOT NULL,
            joins   integer NOT NULL DEFAULT 0
        );
        CREATE TABLE cdp_identity_merges (
            id     text  PRIMARY KEY,
            record bytea NOT NULL
        );
        CREATE TABLE cdp_identity_quarantine (
            id     bytea  PRIMARY KEY,
            kind   text   NOT NULL,
            seq    bigint NOT NULL,
            record bytea  NOT NULL
        );
        CREATE INDEX cdp_identity_quarantine_kind ON cdp_identity_quarantine (kind);
        CREATE INDEX cdp_identity_quarantine_seq ON cdp_identity_quarantine (seq, id);
        CREATE TABLE cdp_identity_unmerges (
            id       text        PRIMARY KEY,
            merge_id text        NOT NULL,
            seq      bigint      NOT NULL,
            loser    bigint      NOT NULL,
            at       timestamptz NOT NULL
        );
        CREATE TABLE cdp_identity_carriers (
            hash   bytea PRIMARY KEY,
            events bytea NOT NULL
        );
        CREATE TABLE cdp_identity_links (
            id            text   PRIMARY KEY,
            left_profile  bigint NOT NULL,
            right_profile bigint NOT NULL,
            status        text   NOT NULL,
            record        bytea  NOT NULL
        );
        CREATE INDEX cdp_identity_links_status ON cdp_identity_links (status);
        CREATE INDEX cdp_identity_links_left ON cdp_identity_links (left_profile);
        CREATE INDEX cdp_identity_links_right ON cdp_identity_links (right_profile);
        """);

    public IEnumerable<IdentityNode> LiveNodes()
    {
        using var cmd = dataSource.CreateCommand("SELECT profile, node FROM cdp_identity_nodes WHERE into_profile = 0");
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return IdentityRows.Node(r.GetInt64(0), 0, r.GetFieldValue<byte[]>(1));
    }

    public IdentityNode? Node(long profile)
    {
        using var cmd = dataSource.CreateCommand("SELECT into_profile, node FROM cdp_identity_nodes WHERE profile = $1");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = profile });
        using var r = cmd.ExecuteReader();
        return r.Read() ? IdentityRows.Node(profile, r.GetInt64(0), r.IsDBNull(1) ? null : r.GetFieldValue<byte[]>(1)) : null;
    }

    public KeyRecord? Key(string key)
    {
        using var cmd = dataSource.CreateCommand("SELECT profile, joins FROM cdp_identity_keys WHERE key = $1");
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = IdentityRows.Utf8(key) });
        using var r = cmd.ExecuteReader();
        return r.Read() ? new KeyRecord(key, r.GetInt64(0)) { Joins = r.GetInt32(1) } : null;
    }

    public MergeRecord? Merge(string id)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_identity_merges WHERE id = $1");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        return cmd.ExecuteScalar() is byte[] record ? IdentityRows.Record<MergeRecord>(record) : null;
    }

    public QuarantineRecord? QuarantineEntry(string id)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_identity_quarantine WHERE id = $1");
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = IdentityRows.Utf8(id) });
        return cmd.ExecuteScalar() is byte[] record ? IdentityRows.Record<QuarantineRecord>(record) : null;
    }

    public IEnumerable<QuarantineRecord> Quarantined(string kind)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_identity_quarantine WHERE kind = $1");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = kind });
        return Records<QuarantineRecord>(cmd);
    }

    public IReadOnlyList<QuarantineRecord> QuarantinePage(int skip, int take)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_identity_quarantine ORDER BY seq, id OFFSET $1 LIMIT $2");
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, skip) });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, take) });
        return Records<QuarantineRecord>(cmd);
    }

    public IEnumerable<UnmergeDirective> Unmerges()
    {
        using var cmd = dataSource.CreateCommand("SELECT merge_id, seq, loser, at FROM cdp_identity_unmerges");
        using var r = cmd.ExecuteReader();
        var result = new List<UnmergeDirective>();
        while (r.Read()) result.Add(new UnmergeDirective(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetFieldValue<DateTime>(3)));
        return result;
    }

    public IEnumerable<(UInt128 Hash, List<long> Events)> Carriers()
    {
        using var cmd = dataSource.CreateCommand("SELECT hash, events FROM cdp_identity_carriers");
        using var r = cmd.ExecuteReader();
        var result = new List<(UInt128, List<long>)>();
        while (r.Read()) result.Add((IdentityRows.Hash(r.GetFieldValue<byte[]>(0)), Varint.Decode(r.GetFieldValue<byte[]>(1))));
        return result;
    }

    public IEnumerable<LinkRecord> Links(string? status = null)
    {
        using var cmd = dataSource.CreateCommand(status is null ? "SELECT record FROM cdp_identity_links" : "SELECT record FROM cdp_identity_links WHERE status = $1");
        if (status is not null) cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = status });
        return Records<LinkRecord>(cmd);
    }

    public IEnumerable<IdentityNode> AllNodes()
    {
        using var cmd = dataSource.CreateCommand("SELECT profile, into_profile, node FROM cdp_identity_nodes");
        using var r = cmd.ExecuteReader();
        var result = new List<IdentityNode>();
        while (r.Read()) result.Add(IdentityRows.Node(r.GetInt64(0), r.GetInt64(1), r.IsDBNull(2) ? null : r.GetFieldValue<byte[]>(2)));
        return result;
    }

    public IEnumerable<KeyRecord> AllKeys()
    {
        using var cmd = dataSource.CreateCommand("SELECT key, profile, joins FROM cdp_identity_keys");
        using var r = cmd.ExecuteReader();
        var result = new List<KeyRecord>();
        while (r.Read()) result.Add(new KeyRecord(System.Text.Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(0)), r.GetInt64(1)) { Joins = r.GetInt32(2) });
        return result;
    }

    public IEnumerable<MergeRecord> AllMerges()
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_identity_merges");
        return Records<MergeRecord>(cmd);
    }

    public IEnumerable<QuarantineRecord> AllQuarantine()
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_identity_quarantine");
        return Records<QuarantineRecord>(cmd);
    }

    public void Write(IUnitOfWork tx, IdentityChanges c)
    {
        var pg = tx.Postgres();
        using var batch = new NpgsqlBatch(pg.Connection, pg.Transaction);
        if (c.DeletedNodes.Count > 0)
            batch.Add("DELETE FROM cdp_identity_nodes WHERE profile = ANY($1)", Array(c.DeletedNodes.ToArray()));
        var nodes = c.NewNodes.Concat(c.ChangedNodes).ToList();
        if (nodes.Count > 0)
            batch.Add("""
                INSERT INTO cdp_identity_nodes (profile, into_profile, node) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])
                ON CONFLICT (profile) DO UPDATE SET into_profile = excluded.into_profile, node = excluded.node
                """,
                Array(nodes.Select(n => n.Profile).ToArray()), Array(nodes.Select(n => n.Into).ToArray()),
                Array(nodes.Select(n => n.Into == 0 ? IdentityRows.Node(n) : null).ToArray()));
        if (c.DeletedKeys.Count > 0)
            batch.Add("DELETE FROM cdp_identity_keys WHERE key = ANY($1)", Array(c.DeletedKeys.Select(IdentityRows.Utf8).ToArray()));
        var keys = c.NewKeys.Concat(c.ChangedKeys).ToList();
        if (keys.Count > 0)
            batch.Add("""
                INSERT INTO cdp_identity_keys (key, profile, joins) SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::int[])
                ON CONFLICT (key) DO UPDATE SET profile = excluded.profile, joins = excluded.joins
                """,
                Array(keys.Select(k => IdentityRows.Utf8(k.Key)).ToArray()), Array(keys.Select(k => k.Profile).ToArray()), Array(keys.Select(k => k.Joins).ToArray()));
        if (c.DeletedMerges.Count > 0)
            batch.Add("DELETE FROM cdp_identity_merges WHERE id = ANY($1)", Array(c.DeletedMerges.ToArray()));
        var merges = LastById(c.Merges, m => m.Id);
        if (merges.Count > 0)
            batch.Add("""
                INSERT INTO cdp_identity_merges (id, record) SELECT * FROM unnest($1::text[], $2::bytea[])
                ON CONFLICT (id) DO UPDATE SET record = excluded.record
                """,
                Array(merges.Select(m => m.Id).ToArray()), Array(merges.Select(IdentityRows.Record).ToArray()));
        if (c.DeletedQuarantine.Count > 0)
            batch.Add("DELETE FROM cdp_identity_quarantine WHERE id = ANY($1)", Array(c.DeletedQuarantine.Select(IdentityRows.Utf8).ToArray()));
        var quarantine = LastById(c.Quarantine, q => q.Id);
        if (quarantine.Count > 0)
            batch.Add("""
                INSERT INTO cdp_identity_quarantine (id, kind, seq, record) SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::bytea[])
                ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, seq = excluded.seq, record = excluded.record
                """,
                Array(quarantine.Select(q => IdentityRows.Utf8(q.Id)).ToArray()), Array(quarantine.Select(q => q.Kind).ToArray()),
                Array(quarantine.Select(q => q.Sequence).ToArray()), Array(quarantine.Select(IdentityRows.Record).ToArray()));
        if (c.Unmerge is { } u)
            batch.Add("""
                INSERT INTO cdp_identity_unmerges (id, merge_id, seq, loser, at) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (id) DO UPDATE SET merge_id = excluded.merge_id, seq = excluded.seq, loser = excluded.loser, at = excluded.at
                """,
                new NpgsqlParameter<string> { TypedValue = u.Key }, new NpgsqlParameter<string> { TypedValue = u.MergeId },
                new NpgsqlParameter<long> { TypedValue = u.Sequence }, new NpgsqlParameter<long> { TypedValue = u.Loser },
                new NpgsqlParameter<DateTime> { TypedValue = u.At, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        var gone = c.Carriers.Where(x => x.Events.Count == 0).Select(x => IdentityRows.HashBytes(x.Hash)).ToArray();
        if (gone.Length > 0) batch.Add("DELETE FROM cdp_identity_carriers WHERE hash = ANY($1)", Array(gone));
        var carriers = c.Carriers.Where(x => x.Events.Count > 0).ToList();
        if (carriers.Count > 0)
            batch.Add("""
                INSERT INTO cdp_identity_carriers (hash, events) SELECT * FROM unnest($1::bytea[], $2::bytea[])
                ON CONFLICT (hash) DO UPDATE SET events = excluded.events
                """,
                Array(carriers.Select(x => IdentityRows.HashBytes(x.Hash)).ToArray()), Array(carriers.Select(x => Varint.Encode(x.Events)).ToArray()));
        var links = LastById(c.Links, l => l.Id);
        if (links.Count > 0)
            batch.Add("""
                INSERT INTO cdp_identity_links (id, left_profile, right_profile, status, record) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bytea[])
                ON CONFLICT (id) DO UPDATE SET left_profile = excluded.left_profile, right_profile = excluded.right_profile, status = excluded.status, record = excluded.record
                """,
                Array(links.Select(l => l.Id).ToArray()), Array(links.Select(l => l.Left).ToArray()), Array(links.Select(l => l.Right).ToArray()),
                Array(links.Select(l => l.Status).ToArray()), Array(links.Select(IdentityRows.Record).ToArray()));
        if (batch.BatchCommands.Count > 0) batch.ExecuteNonQuery();
        if (c.UndoneLink is not null) SetLinkStatus(pg, c.UndoneLink, LinkStatus.Undone, c.UndoneNote);
    }

    /// <summary>A link's status and note change inside its record too (read, changed, written back in the transaction).</summary>
    private static void SetLinkStatus(PostgresUnitOfWork pg, string id, string status, string? note)
    {
        using var read = pg.Command("SELECT record FROM cdp_identity_links WHERE id = $1 FOR UPDATE");
        read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        if (read.ExecuteScalar() is not byte[] bytes) return;
        var record = IdentityRows.Record<LinkRecord>(bytes) with { Status = status, Note = note };
        using var write = pg.Command("UPDATE cdp_identity_links SET status = $2, record = $3 WHERE id = $1");
        write.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        write.Parameters.Add(new NpgsqlParameter<string> { TypedValue = status });
        write.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = IdentityRows.Record(record) });
        write.ExecuteNonQuery();
    }

    public void Reset(IUnitOfWork tx)
    {
        var pg = tx.Postgres();
        using (var truncate = pg.Command("TRUNCATE cdp_identity_nodes, cdp_identity_keys, cdp_identity_merges, cdp_identity_quarantine, cdp_identity_carriers"))
            truncate.ExecuteNonQuery();
        var reopened = new List<LinkRecord>();
        using (var read = pg.Command("SELECT record FROM cdp_identity_links WHERE status <> $1 FOR UPDATE"))
        {
            read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = LinkStatus.Undone });
            reopened.AddRange(Records<LinkRecord>(read).Select(l => l with { Status = LinkStatus.Pending, Note = null }));
        }
        if (reopened.Count == 0) return;
        using var write = pg.Command("UPDATE cdp_identity_links AS l SET status = $3, record = u.r FROM unnest($1::text[], $2::bytea[]) AS u(id, r) WHERE l.id = u.id");
        write.Parameters.Add(Array(reopened.Select(l => l.Id).ToArray()));
        write.Parameters.Add(Array(reopened.Select(IdentityRows.Record).ToArray()));
        write.Parameters.Add(new NpgsqlParameter<string> { TypedValue = LinkStatus.Pending });
        write.ExecuteNonQuery();
    }

    public IdentityErasure Erase(IUnitOfWork tx, IReadOnlyCollection<long> profiles, IReadOnlyCollection<string> keys)
    {
        var pg = tx.Postgres();
        var profileArray = profiles.ToArray();
        var mergeIds = new HashSet<string>(StringComparer.Ordinal);
        using (var read = pg.Command("SELECT profile, node FROM cdp_identity_nodes WHERE profile = ANY($1) AND into_profile = 0 AND node IS NOT NULL"))
        {
            read.Parameters.Add(Array(profileArray));
            using var r = read.ExecuteReader();
            while (r.Read()) foreach (var m in IdentityRows.Node(r.GetInt64(0), 0, r.GetFieldValue<byte[]>(1)).MergeIds) mergeIds.Add(m);
        }
        Execute(pg, "DELETE FROM cdp_identity_nodes WHERE profile = ANY($1)", Array(profileArray));
        var quarantined = Execute(pg, "DELETE FROM cdp_identity_quarantine WHERE id = ANY($1)",
            Array(profiles.Select(p => IdentityRows.Utf8("profile:" + p)).Concat(keys.Select(k => IdentityRows.Utf8("key:" + k))).ToArray()));
        var identifiers = Execute(pg, "DELETE FROM cdp_identity_keys WHERE key = ANY($1)", Array(keys.Select(IdentityRows.Utf8).ToArray()));
        Execute(pg, "DELETE FROM cdp_identity_carriers WHERE hash = ANY($1)", Array(keys.Select(k => IdentityRows.HashBytes(IdentitySchema.Hash(k))).ToArray()));
        var mergeRecords = Execute(pg, "DELETE FROM cdp_identity_merges WHERE id = ANY($1)", Array(mergeIds.ToArray()));
        return new IdentityErasure(identifiers, mergeRecords, quarantined);
    }

    public long EraseLinksInvolving(IUnitOfWork tx, IReadOnlySet<long> profiles) =>
        Execute(tx.Postgres(), "DELETE FROM cdp_identity_links WHERE left_profile = ANY($1) OR right_profile = ANY($1)", Array(profiles.ToArray()));

    private static long Execute(PostgresUnitOfWork pg, string sql, NpgsqlParameter parameter)
    {
        using var cmd = pg.Command(sql);
        cmd.Parameters.Add(parameter);
        return cmd.ExecuteNonQuery();
    }

    private static List<T> Records<T>(NpgsqlCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var result = new List<T>();
        while (r.Read()) result.Add(IdentityRows.Record<T>(r.GetFieldValue<byte[]>(0)));
        return result;
    }

    private static List<T> LastById<T>(IReadOnlyList<T> records, Func<T, string> id)
    {
        var last = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var r in records) last[id(r)] = r;
        return last.Count == records.Count ? records as List<T> ?? records.ToList() : last.Values.ToList();
    }

    private static NpgsqlParameter<T[]> Array<T>(T[] values) => new() { TypedValue = values };
}

/// <summary>The Identity module's migrations.</summary>
internal sealed class IdentityPostgresSchema : IPostgresSchema
{
    public IEnumerable<SchemaMigration> Migrations => [PostgresIdentityStore.V1];
}

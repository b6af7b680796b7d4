using System.Text;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;

namespace Cdp.Modules.Profiles.Projection.PostgreSql;

/// <summary>
/// Profiles in PostgreSQL: cdp_profiles (profile, into_profile, the record as BSON bytes: <see cref="ProfileState.ToBytes"/>),
/// cdp_profile_timeline (sealed chunks keyed as on LiteDB) and cdp_profile_accounts (group ids came from outside: bytea).
/// Traits are searched by reading the records (a scan, as on LiteDB: traits have no index).
/// </summary>
internal sealed class PostgresProfileStore(PostgresDatabase database) : IProfileStore
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;

    /// <summary>Records per read of a scan: no statement holds a connection for the whole table.</summary>
    private const int ScanPage = 1000;

    public static readonly SchemaMigration V1 = new("Profiles", 1, "profiles, timeline chunks, accounts", """
        CREATE TABLE cdp_profiles (
            profile      bigint PRIMARY KEY,
            into_profile bigint NOT NULL DEFAULT 0,
            record       bytea  NOT NULL
        );
        CREATE INDEX cdp_profiles_live ON cdp_profiles (profile) WHERE into_profile = 0;
        CREATE TABLE cdp_profile_timeline (
            id        bigint PRIMARY KEY,
            sequences bytea  NOT NULL,
            times     bytea
        );
        CREATE TABLE cdp_profile_accounts (
            id     bytea PRIMARY KEY,
            record bytea NOT NULL
        );
        """);

    /// <summary>Every chunk of the given profiles: one primary-key range per profile (chunk ids are profile &lt;&lt; 16 | chunk).</summary>
    private const string ClearTimelines =
        "DELETE FROM cdp_profile_timeline AS t USING unnest($1::bigint[]) AS p(n) WHERE t.id BETWEEN p.n << 16 AND (p.n << 16) + 65535";

    private NpgsqlCommand Command(string sql, IUnitOfWork? tx) => tx is null ? dataSource.CreateCommand(sql) : tx.Postgres().Command(sql);

    public ProfileState? Profile(long profile, IUnitOfWork? tx = null)
    {
        using var cmd = Command("SELECT record FROM cdp_profiles WHERE profile = $1", tx);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = profile });
        return cmd.ExecuteScalar() is byte[] record ? ProfileState.FromBytes(record) : null;
    }

    public IReadOnlyList<ProfileState> Many(IReadOnlyCollection<long> profiles)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_profiles WHERE profile = ANY($1)");
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = profiles.ToArray() });
        using var r = cmd.ExecuteReader();
        var result = new List<ProfileState>(profiles.Count);
        while (r.Read()) result.Add(ProfileState.FromBytes(r.GetFieldValue<byte[]>(0)));
        return result;
    }

    public IReadOnlyList<ProfileState> LiveAfter(long after, int take)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_profiles WHERE profile > $1 AND into_profile = 0 ORDER BY profile LIMIT $2");
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, take) });
        using var r = cmd.ExecuteReader();
        var result = new List<ProfileState>();
        while (r.Read()) result.Add(ProfileState.FromBytes(r.GetFieldValue<byte[]>(0)));
        return result;
    }

    private IEnumerable<ProfileState> ScanLive()
    {
        long after = 0;
        while (true)
        {
            var page = LiveAfter(after, ScanPage);
            foreach (var p in page) yield return p;
            if (page.Count < ScanPage) yield break;
            after = page[^1].Profile;
        }
    }

    public IEnumerable<ProfileState> LiveWithTrait(string path, string value) => ScanLive().Where(p => p.HasTraitValue(path, value));

    public IEnumerable<long> AccountMembers(string groupId) =>
        ScanLive().Where(p => p.Groups.Contains(groupId, StringComparer.OrdinalIgnoreCase)).Select(p => p.Profile);

    public TimelinePart? Chunk(long profile, int chunk, IUnitOfWork? tx = null)
    {
        using var cmd = Command("SELECT sequences, times FROM cdp_profile_timeline WHERE id = $1", tx);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = ProfileSchema.ChunkId(profile, chunk) });
        using var r = cmd.ExecuteReader();
        return r.Read() ? new TimelinePart(r.GetFieldValue<byte[]>(0), r.IsDBNull(1) ? null : r.GetFieldValue<byte[]>(1)) : null;
    }

    public AccountState? Account(string groupId, ProfileLimits limits)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_profile_accounts WHERE id = $1");
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(groupId) });
        return cmd.ExecuteScalar() is byte[] record ? AccountState.FromBytes(record, limits) : null;
    }

    public IEnumerable<ProfileState> All()
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_profiles ORDER BY profile");
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return ProfileState.FromBytes(r.GetFieldValue<byte[]>(0));
    }

    public IEnumerable<(long Id, TimelinePart Part)> AllChunks()
    {
        using var cmd = dataSource.CreateCommand("SELECT id, sequences, times FROM cdp_profile_timeline");
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return (r.GetInt64(0), new TimelinePart(r.GetFieldValue<byte[]>(1), r.IsDBNull(2) ? null : r.GetFieldValue<byte[]>(2)));
    }

    public IEnumerable<(string GroupId, AccountState Account)> AllAccounts(ProfileLimits limits)
    {
        using var cmd = dataSource.CreateCommand("SELECT id, record FROM cdp_profile_accounts");
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return (Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(0)), AccountState.FromBytes(r.GetFieldValue<byte[]>(1), limits));
    }

    public void Write(IUnitOfWork tx, ProfileChanges c)
    {
        var pg = tx.Postgres();
        using var batch = new NpgsqlBatch(pg.Connection, pg.Transaction);
        if (c.DeletedProfiles.Count > 0)
            batch.Add("DELETE FROM cdp_profiles WHERE profile = ANY($1)", new NpgsqlParameter<long[]> { TypedValue = c.DeletedProfiles.ToArray() });
        if (c.ClearedTimelines.Count > 0)
            batch.Add(ClearTimelines, new NpgsqlParameter<long[]> { TypedValue = c.ClearedTimelines.ToArray() });
        var gone = c.Chunks.Where(x => x.Part is null).Select(x => x.Id).ToArray();
        if (gone.Length > 0) batch.Add("DELETE FROM cdp_profile_timeline WHERE id = ANY($1)", new NpgsqlParameter<long[]> { TypedValue = gone });
        var parts = c.Chunks.Where(x => x.Part is not null).GroupBy(x => x.Id).Select(g => g.Last()).ToList();
        if (parts.Count > 0)
            batch.Add("""
                INSERT INTO cdp_profile_timeline (id, sequences, times) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])
                ON CONFLICT (id) DO UPDATE SET sequences = excluded.sequences, times = excluded.times
                """,
                new NpgsqlParameter<long[]> { TypedValue = parts.Select(x => x.Id).ToArray() },
                new NpgsqlParameter<byte[][]> { TypedValue = parts.Select(x => x.Part!.Sequences).ToArray() },
                new NpgsqlParameter<byte[]?[]> { TypedValue = parts.Select(x => x.Part!.Times).ToArray() });
        var profiles = c.NewProfiles.Concat(c.ChangedProfiles).ToList();
        if (profiles.Count > 0)
            batch.Add("""
                INSERT INTO cdp_profiles (profile, into_profile, record) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])
                ON CONFLICT (profile) DO UPDATE SET into_profile = excluded.into_profile, record = excluded.record
                """,
                new NpgsqlParameter<long[]> { TypedValue = profiles.Select(p => p.Profile).ToArray() },
                new NpgsqlParameter<long[]> { TypedValue = profiles.Select(p => p.Into).ToArray() },
                new NpgsqlParameter<byte[][]> { TypedValue = profiles.Select(p => p.ToBytes()).ToArray() });
        var accounts = c.Accounts.GroupBy(a => a.GroupId, StringComparer.Ordinal).Select(g => g.Last()).ToList();
        if (accounts.Count > 0)
            batch.Add("""
                INSERT INTO cdp_profile_accounts (id, record) SELECT * FROM unnest($1::bytea[], $2::bytea[])
                ON CONFLICT (id) DO UPDATE SET record = excluded.record
                """,
                new NpgsqlParameter<byte[][]> { TypedValue = accounts.Select(a => Encoding.UTF8.GetBytes(a.GroupId)).ToArray() },
                new NpgsqlParameter<byte[][]> { TypedValue = accounts.Select(a => a.Account.ToBytes()).ToArray() });
        if (batch.BatchCommands.Count > 0) batch.ExecuteNonQuery();
    }

    public void Reset(IUnitOfWork tx)
    {
        using var cmd = tx.Postgres().Command("TRUNCATE cdp_profiles, cdp_profile_timeline, cdp_profile_accounts");
        cmd.ExecuteNonQuery();
    }

    public (long Live, long MergedAway) Erase(IUnitOfWork tx, IReadOnlyCollection<long> profiles)
    {
        var pg = tx.Postgres();
        long live = 0, mergedAway = 0;
        using (var delete = pg.Command("DELETE FROM cdp_profiles WHERE profile = ANY($1) RETURNING into_profile"))
        {
            delete.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = profiles.ToArray() });
            using var r = delete.ExecuteReader();
            while (r.Read())
                if (r.GetInt64(0) == 0) live++;
                else mergedAway++;
        }
        using var timeline = pg.Command(ClearTimelines);
        timeline.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = profiles.ToArray() });
        timeline.ExecuteNonQuery();
        return (live, mergedAway);
    }
}

/// <summary>The Profiles module's migrations.</summary>
internal sealed class ProfilesPostgresSchema : IPostgresSchema
{
    public IEnumerable<SchemaMigration> Migrations => [PostgresProfileStore.V1];
}

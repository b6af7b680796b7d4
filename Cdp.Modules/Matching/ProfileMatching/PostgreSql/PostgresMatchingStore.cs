using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Cdp.Modules.Shared.Storage;
using Cdp.Modules.Shared.Storage.PostgreSql;
using Npgsql;
using NpgsqlTypes;

namespace Cdp.Modules.Matching.ProfileMatching.PostgreSql;

/// <summary>
/// Matching in PostgreSQL. The journal is one row per changed profile with the version of its last change (a sequence
/// value): a run reads (profile, version) pairs and afterwards deletes exactly those, so a profile changed again while
/// the run worked keeps its newer row for the next run. No reader depends on versions committing in order, so the
/// sequence's out-of-order commits (see the storage README) do no harm here. Review items keep their compared values
/// (from outside) in a bytea record; status, rank, decision time and both sides are columns for the queue's queries.
/// </summary>
internal sealed class PostgresMatchingStore(PostgresDatabase database) : IMatchingStore
{
    private readonly NpgsqlDataSource dataSource = database.DataSource;

    private static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static readonly SchemaMigration V1 = new("Matching", 1, "model, runs, journal and review queue", """
        CREATE TABLE cdp_matching_model (
            id     text  PRIMARY KEY,
            record bytea NOT NULL
        );
        CREATE TABLE cdp_matching_runs (
            id     text        PRIMARY KEY,
            at     timestamptz NOT NULL,
            report bytea       NOT NULL
        );
        CREATE INDEX cdp_matching_runs_at ON cdp_matching_runs (at DESC);
        CREATE SEQUENCE cdp_matching_journal_version;
        CREATE TABLE cdp_matching_journal (
            profile bigint PRIMARY KEY,
            version bigint NOT NULL
        );
        CREATE TABLE cdp_matching_review (
            id            text             PRIMARY KEY,
            status        text             NOT NULL,
            left_profile  bigint           NOT NULL,
            right_profile bigint           NOT NULL,
            rank          double precision NOT NULL,
            decided_at    timestamptz,
            record        bytea            NOT NULL
        );
        CREATE INDEX cdp_matching_review_status ON cdp_matching_review (status, rank DESC);
        CREATE INDEX cdp_matching_review_left ON cdp_matching_review (left_profile);
        CREATE INDEX cdp_matching_review_right ON cdp_matching_review (right_profile);
        """);

    public StoredModel? Model()
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_matching_model WHERE id = 'model'");
        return cmd.ExecuteScalar() is byte[] record ? JsonSerializer.Deserialize<StoredModel>(record, Json) : null;
    }

    public void SaveModel(StoredModel model)
    {
        using var cmd = dataSource.CreateCommand("INSERT INTO cdp_matching_model (id, record) VALUES ('model', $1) ON CONFLICT (id) DO UPDATE SET record = excluded.record");
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = JsonSerializer.SerializeToUtf8Bytes(model, Json) });
        cmd.ExecuteNonQuery();
    }

    public void SaveRun(string id, DateTime startedAt, string json, int keep) => database.InTransaction((c, t) =>
    {
        using var insert = new NpgsqlCommand("INSERT INTO cdp_matching_runs (id, at, report) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET at = excluded.at, report = excluded.report", c, t);
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        insert.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = startedAt.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Encoding.UTF8.GetBytes(json) });
        insert.ExecuteNonQuery();
        using var trim = new NpgsqlCommand("DELETE FROM cdp_matching_runs WHERE id IN (SELECT id FROM cdp_matching_runs ORDER BY at DESC, id DESC OFFSET $1)", c, t);
        trim.Parameters.Add(new NpgsqlParameter<int> { TypedValue = keep });
        trim.ExecuteNonQuery();
    });

    public IReadOnlyList<string> RecentRuns(int take)
    {
        using var cmd = dataSource.CreateCommand("SELECT report FROM cdp_matching_runs ORDER BY at DESC, id DESC LIMIT $1");
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, take) });
        using var r = cmd.ExecuteReader();
        var result = new List<string>();
        while (r.Read()) result.Add(Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(0)));
        return result;
    }

    public void Journal(IUnitOfWork tx, IReadOnlyList<long> changed)
    {
        using var cmd = tx.Postgres().Command("""
            INSERT INTO cdp_matching_journal (profile, version) SELECT p, nextval('cdp_matching_journal_version') FROM unnest($1::bigint[]) AS p
            ON CONFLICT (profile) DO UPDATE SET version = excluded.version
            """);
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = changed.ToArray() });
        cmd.ExecuteNonQuery();
    }

    public void ResetJournal(IUnitOfWork tx)
    {
        using var cmd = tx.Postgres().Command("DELETE FROM cdp_matching_journal");
        cmd.ExecuteNonQuery();
    }

    public JournalRead ReadJournal()
    {
        using var cmd = dataSource.CreateCommand("SELECT profile, version FROM cdp_matching_journal");
        using var r = cmd.ExecuteReader();
        var profiles = new List<long>();
        var versions = new List<long>();
        while (r.Read())
        {
            profiles.Add(r.GetInt64(0));
            versions.Add(r.GetInt64(1));
        }
        return new JournalRead(profiles.ToHashSet(), (profiles.ToArray(), versions.ToArray()));
    }

    public void ConsumeJournal(JournalRead read)
    {
        var (profiles, versions) = ((long[], long[]))read.Position;
        using var cmd = dataSource.CreateCommand("DELETE FROM cdp_matching_journal AS j USING unnest($1::bigint[], $2::bigint[]) AS r(p, v) WHERE j.profile = r.p AND j.version = r.v");
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = profiles });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = versions });
        cmd.ExecuteNonQuery();
    }

    public ReviewItem? Review(string id)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_matching_review WHERE id = $1");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        return cmd.ExecuteScalar() is byte[] record ? Item(record) : null;
    }

    public (int Total, IReadOnlyList<ReviewItem> Items) ReviewPage(string status, int skip, int take)
    {
        using var count = dataSource.CreateCommand("SELECT count(*) FROM cdp_matching_review WHERE status = $1");
        count.Parameters.Add(new NpgsqlParameter<string> { TypedValue = status });
        var total = (int)(long)count.ExecuteScalar()!;
        var order = status == ReviewStatus.Pending ? "rank DESC, id" : "decided_at DESC NULLS LAST, id";
        using var page = dataSource.CreateCommand($"SELECT record FROM cdp_matching_review WHERE status = $1 ORDER BY {order} OFFSET $2 LIMIT $3");
        page.Parameters.Add(new NpgsqlParameter<string> { TypedValue = status });
        page.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, skip) });
        page.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, take) });
        return (total, Items(page));
    }

    public IEnumerable<(string Id, DateTime At, string Json)> AllRuns()
    {
        using var cmd = dataSource.CreateCommand("SELECT id, at, report FROM cdp_matching_runs");
        using var r = cmd.ExecuteReader();
        var result = new List<(string, DateTime, string)>();
        while (r.Read()) result.Add((r.GetString(0), r.GetFieldValue<DateTime>(1), Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(2))));
        return result;
    }

    public IReadOnlyCollection<long> JournalProfiles() => ReadJournal().Profiles;

    public IEnumerable<ReviewItem> AllReviews()
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_matching_review");
        return Items(cmd);
    }

    public IReadOnlyList<ReviewItem> ReviewsWithStatus(string status)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_matching_review WHERE status = $1");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = status });
        return Items(cmd);
    }

    public IReadOnlyList<ReviewItem> ReviewsInvolving(IReadOnlySet<long> profiles)
    {
        using var cmd = dataSource.CreateCommand("SELECT record FROM cdp_matching_review WHERE left_profile = ANY($1) OR right_profile = ANY($1)");
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = profiles.ToArray() });
        return Items(cmd);
    }

    public void AddReview(ReviewItem item) => database.InTransaction((c, t) => Upsert(c, t, [item], insert: true));

    public void UpdateReviews(IReadOnlyList<ReviewItem> items) => database.InTransaction((c, t) => Upsert(c, t, items, insert: false));

    /// <summary>An insert of an existing id fails (as LiteDB's Insert does); an update of a missing one does nothing (as LiteDB's Update).</summary>
    private static void Upsert(NpgsqlConnection c, NpgsqlTransaction t, IReadOnlyList<ReviewItem> items, bool insert)
    {
        var sql = insert
            ? "INSERT INTO cdp_matching_review (id, status, left_profile, right_profile, rank, decided_at, record) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::float8[], $6::timestamptz[], $7::bytea[])"
            : "UPDATE cdp_matching_review AS r SET status = u.s, left_profile = u.a, right_profile = u.b, rank = u.k, decided_at = u.d, record = u.rec FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::float8[], $6::timestamptz[], $7::bytea[]) AS u(id, s, a, b, k, d, rec) WHERE r.id = u.id";
        using var cmd = new NpgsqlCommand(sql, c, t);
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = items.Select(i => i.Id).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = items.Select(i => i.Status).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = items.Select(i => i.Left).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = items.Select(i => i.Right).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = items.Select(i => i.Rank).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<DateTime?[]> { TypedValue = items.Select(i => i.DecidedAt?.ToUniversalTime()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = items.Select(i => JsonSerializer.SerializeToUtf8Bytes(i, Json)).ToArray() });
        cmd.ExecuteNonQuery();
    }

    public long DeleteReviewsInvolving(IUnitOfWork tx, IReadOnlySet<long> profiles)
    {
        using var cmd = tx.Postgres().Command("DELETE FROM cdp_matching_review WHERE left_profile = ANY($1) OR right_profile = ANY($1)");
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = profiles.ToArray() });
        return cmd.ExecuteNonQuery();
    }

    private static ReviewItem Item(byte[] record) => JsonSerializer.Deserialize<ReviewItem>(record, Json)!;

    private static List<ReviewItem> Items(NpgsqlCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var result = new List<ReviewItem>();
        while (r.Read()) result.Add(Item(r.GetFieldValue<byte[]>(0)));
        return result;
    }
}

/// <summary>The Matching module's migrations.</summary>
internal sealed class MatchingPostgresSchema : IPostgresSchema
{
    public IEnumerable<SchemaMigration> Migrations => [PostgresMatchingStore.V1];
}

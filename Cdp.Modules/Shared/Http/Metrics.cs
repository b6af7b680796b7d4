using System.Globalization;
using System.Text;

namespace Cdp.Modules.Shared.Http;

/// <summary>A module's counters and gauges for GET /metrics (Prometheus text format). Registered in DI by the module.</summary>
public interface IMetricsSource
{
    void Collect(MetricsWriter metrics);
}

/// <summary>Writes Prometheus text exposition format 0.0.4: a HELP and TYPE line, then the sample.</summary>
public sealed class MetricsWriter
{
    private readonly StringBuilder _text = new();

    public void Counter(string name, string help, double value) => Write(name, help, "counter", value);

    public void Gauge(string name, string help, double value) => Write(name, help, "gauge", value);

    /// <summary>One counter with a sample per label set, e.g. cdp_sync_runs_total{destination="news",status="failed"} 3.</summary>
    public void Counter(string name, string help, IEnumerable<(IReadOnlyList<(string Name, string Value)> Labels, double Value)> samples)
    {
        _text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(" counter\n");
        foreach (var (labels, value) in samples)
        {
            _text.Append(name).Append('{');
            for (var i = 0; i < labels.Count; i++)
            {
                if (i > 0) _text.Append(',');
                _text.Append(labels[i].Name).Append("=\"").Append(Escape(labels[i].Value)).Append('"');
            }
            _text.Append("} ").Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private static string Escape(string label) => label.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private void Write(string name, string help, string type, double value)
    {
        _text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        _text.Append(name).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
    }

    public override string ToString() => _text.ToString();
}

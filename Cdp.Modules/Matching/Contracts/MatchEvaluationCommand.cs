namespace Cdp.Modules.Matching.Contracts;

/// <summary>
/// The <c>cdp match evaluate</c> verb: runs probabilistic matching on a CSV file with ground truth and prints
/// pairwise and clustered precision, recall and F1, candidate pairs and time. Returns the process exit code
/// (0 done, 1 bad arguments or input, 2 invalid settings).
/// </summary>
public static class MatchEvaluationCommand
{
    public static int Run(string[] args, TextWriter output) => Engine.EvaluationCommand.Run(args, output);
}

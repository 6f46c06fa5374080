namespace FuncRerank.Cli;

/// <summary>Runs a command body and turns every expected failure into one line on stderr and a non-zero exit, never a stack trace.</summary>
internal static class CommandRunner
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (UsageException e)
        {
            return Fail(e.Message, 2);
        }
        catch (Exception e) when (ModelLoadFailure.IsExpected(e))
        {
            return Fail(e.Message, 1);
        }
    }

    private static int Fail(string message, int exitCode)
    {
        Console.Error.WriteLine($"funcrerank: {message.ReplaceLineEndings(" ")}");
        return exitCode;
    }
}

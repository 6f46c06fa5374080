using Microsoft.AspNetCore.Mvc;

namespace FuncRerank.Functions;

internal static class HandlerResults
{
    /// <summary>The shared handlers write the response themselves; the function then has nothing more to add.</summary>
    public static async Task<IActionResult> AsActionResult(this Task handled)
    {
        await handled.ConfigureAwait(false);
        return new EmptyResult();
    }
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace FuncRerank.Api.Security;

/// <summary>
/// FuncRerank's own key check, run by the handlers of both hosts. The Functions host only reads <c>x-functions-key</c>
/// and <c>?code=</c>, while nearly every rerank client sends <c>Authorization: Bearer</c>, so the functions are
/// anonymous to the host and the key is checked here, in every form clients use.
/// </summary>
public sealed class ApiKeyAuthenticator
{
    // Keys are kept as SHA-256 digests and compared digest to digest in fixed time: the comparison time reveals
    // nothing about how much of a guess was right, whatever the key lengths.
    private readonly byte[][] _keyDigests;

    public ApiKeyAuthenticator(IEnumerable<string> keys, bool refuseWhenOpen = false)
    {
        _keyDigests = keys.Select(k => k.Trim()).Where(k => k.Length > 0).Distinct().Select(Digest).ToArray();
        if (refuseWhenOpen && IsOpen)
            Misconfiguration = "no API key is configured, and a public endpoint in Azure is never served open: " +
                               "set the app setting Reranker__ApiKeys (comma-separated keys) or the function keys";
    }

    /// <summary>No key configured: every caller is let in (a laptop or a private network, like the old <c>NOT_NEED</c> setup).</summary>
    public bool IsOpen => _keyDigests.Length == 0;

    /// <summary>Why nothing may be served (running in Azure without keys), or null.</summary>
    public string? Misconfiguration { get; }

    public int KeyCount => _keyDigests.Length;

    /// <summary>Keys from <c>Reranker:ApiKeys</c> and from the Functions host key files that Azure Container Apps mounts.</summary>
    public static ApiKeyAuthenticator FromSettings(string? apiKeys, string functionsKeyDirectory, bool runningInAzure)
    {
        var keys = (apiKeys ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (Directory.Exists(functionsKeyDirectory))
        {
            foreach (var file in Directory.EnumerateFiles(functionsKeyDirectory))
            {
                var name = Path.GetFileName(file);
                // host.master, host.function.<name>, functions.<function>.<name>; system keys are for extensions, not callers.
                if (name == "host.master" || name.StartsWith("host.function.", StringComparison.Ordinal) || name.StartsWith("functions.", StringComparison.Ordinal))
                    keys.Add(File.ReadAllText(file));
            }
        }

        return new ApiKeyAuthenticator(keys, refuseWhenOpen: runningInAzure);
    }

    /// <summary>App Service and Container Apps set these in every app they run.</summary>
    public static bool IsRunningInAzure() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WEBSITE_SITE_NAME")) ||
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CONTAINER_APP_NAME"));

    public bool IsAuthorized(HttpRequest request)
    {
        if (IsOpen)
            return true;
        var presented = PresentedKeys(request).ToArray();
        var authorized = false;
        foreach (var key in presented)
        {
            var digest = Digest(key);
            foreach (var expected in _keyDigests)
                authorized |= CryptographicOperations.FixedTimeEquals(digest, expected);
        }

        return authorized;
    }

    /// <summary>Every place a client may put its key: Bearer (most clients), x-api-key, api-key, x-functions-key, ?code=.</summary>
    private static IEnumerable<string> PresentedKeys(HttpRequest request)
    {
        foreach (var value in request.Headers.Authorization)
        {
            // "Bearer " with nothing after it is no key (Open WebUI sends it when the key field is empty).
            if (value is { Length: > 7 } && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && value[7..].Trim() is { Length: > 0 } token)
                yield return token;
        }

        foreach (var header in new[] { "x-api-key", "api-key", "x-functions-key" })
        foreach (var value in request.Headers[header])
        {
            if (!string.IsNullOrWhiteSpace(value))
                yield return value.Trim();
        }

        foreach (var value in request.Query["code"])
        {
            if (!string.IsNullOrWhiteSpace(value))
                yield return value;
        }
    }

    private static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}

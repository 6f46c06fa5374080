using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace FuncRerank.Tests.FunctionsHost;

/// <summary>
/// One HTTP-triggered function as the worker indexed it (its <c>raw_bindings</c> JSON), and the route the host maps for
/// it: <c>routePrefix/route</c> from host.json, the function's name when it has no route, its methods as a constraint
/// (Azure/azure-functions-host <c>src/WebJobs.Script.WebHost/WebScriptHostHttpRoutesManager.cs</c>).
/// </summary>
internal sealed partial record HttpFunction(RpcFunctionMetadata Metadata, string TriggerBindingName, string Route, string[] Methods, string AuthLevel)
{
    private TemplateMatcher? _matcher;

    public string Name => Metadata.Name;

    public string FunctionId => Metadata.FunctionId;

    /// <summary>The function's httpTrigger binding, or null for a function with another trigger.</summary>
    public static HttpFunction? FromMetadata(RpcFunctionMetadata metadata)
    {
        foreach (var raw in metadata.RawBindings)
        {
            var binding = JsonNode.Parse(raw)!;
            if (!string.Equals((string?)binding["type"], "httpTrigger", StringComparison.OrdinalIgnoreCase))
                continue;
            var methods = binding["methods"]?.AsArray().Select(m => m!.GetValue<string>().ToUpperInvariant()).ToArray() ?? [];
            return new HttpFunction(metadata, (string)binding["name"]!, (string?)binding["route"] ?? metadata.Name, methods,
                (string?)binding["authLevel"] ?? "Function");
        }

        return null;
    }

    /// <summary>
    /// Why the host would refuse functions: names it does not accept (Utility.IsValidFunctionName), routes in its own
    /// space or clashing with another function's (ScriptHost.ValidateFunction / ValidateHttpFunction / HttpRoutesConflict),
    /// and, this test host's own limit, any function that needs a host key (FuncRerank's are anonymous to the host).
    /// </summary>
    public static IReadOnlyList<string> HostValidationErrors(IReadOnlyList<HttpFunction> functions)
    {
        var errors = new List<string>();
        for (var i = 0; i < functions.Count; i++)
        {
            var function = functions[i];
            var route = function.Route.Trim('/').ToLowerInvariant();
            if (!ValidName().IsMatch(function.Name))
                errors.Add($"'{function.Name}' is not a valid function name");
            if (route.StartsWith("admin", StringComparison.Ordinal) || route.StartsWith("runtime", StringComparison.Ordinal))
                errors.Add($"{function.Name}: the route {function.Route} conflicts with the host's built-in routes");
            if (!string.Equals(function.AuthLevel, "Anonymous", StringComparison.OrdinalIgnoreCase))
                errors.Add($"{function.Name}: auth level {function.AuthLevel} needs the host's key check, which this test host does not have");
            foreach (var earlier in functions.Take(i))
            {
                if (string.Equals(earlier.Name, function.Name, StringComparison.OrdinalIgnoreCase))
                    errors.Add($"the function name '{function.Name}' must be unique");
                else if (string.Equals(earlier.Route.Trim('/'), function.Route.Trim('/'), StringComparison.OrdinalIgnoreCase)
                         && (earlier.Methods.Length == 0 || function.Methods.Length == 0 || earlier.Methods.Intersect(function.Methods).Any()))
                    errors.Add($"{function.Name}: the route conflicts with the route defined by function '{earlier.Name}'");
            }
        }

        return errors;
    }

    /// <summary>Matches a request as the host's route does; the route values are what the host passes on as binding data.</summary>
    public bool TryMatch(string routePrefix, string method, string path, out RouteValueDictionary values)
    {
        _matcher ??= new TemplateMatcher(TemplateParser.Parse(routePrefix.Length == 0 ? Route : $"{routePrefix}/{Route}"), new RouteValueDictionary());
        values = new RouteValueDictionary();
        return (Methods.Length == 0 || Methods.Contains(method.ToUpperInvariant())) && _matcher.TryMatch(path, values);
    }

    [GeneratedRegex(@"^[a-z][a-z0-9_\-]{0,127}$(?<!^host$)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ValidName();
}

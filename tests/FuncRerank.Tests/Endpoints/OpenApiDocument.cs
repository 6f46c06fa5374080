using System.Text.Json.Nodes;
using FuncRerank.Api.Endpoints;

namespace FuncRerank.Tests.Endpoints;

/// <summary>
/// The served openapi.json as the contract tests read it: local <c>$ref</c>s followed, and what of a JSON value a
/// schema leaves undescribed.
/// </summary>
internal sealed class OpenApiDocument(JsonNode root)
{
    private static readonly HashSet<string> Methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    public static OpenApiDocument Served { get; } = Load();

    public JsonNode Root => root;

    /// <summary>
    /// The documented paths, <c>x-aliases</c> included, without their leading slash, each with its methods in capitals.
    /// </summary>
    public IEnumerable<(string Method, string Path)> Operations() =>
        PathItems().SelectMany(path => path.Item
            .Where(member => Methods.Contains(member.Key))
            .Select(operation => (operation.Key.ToUpperInvariant(), path.Path)));

    /// <summary>The operation for a method on a documented path or on one of a path's aliases.</summary>
    public JsonObject Operation(string method, string path) =>
        Resolve((PathItems().FirstOrDefault(p => p.Path == path).Item ?? throw new KeyNotFoundException($"/{path} is not documented"))
            [method.ToLowerInvariant()] ?? throw new KeyNotFoundException($"{method} /{path} is not documented")).AsObject();

    private IEnumerable<(string Path, JsonObject Item)> PathItems() =>
        root["paths"]!.AsObject().SelectMany(path =>
        {
            var item = Resolve(path.Value!).AsObject();
            var aliases = item["x-aliases"]?.AsArray().Select(alias => alias!.GetValue<string>()) ?? [];
            return aliases.Prepend(path.Key).Select(name => (name.TrimStart('/'), item));
        });

    /// <summary>The schema of an operation's JSON request body.</summary>
    public JsonObject RequestSchema(string method, string path) =>
        Resolve(Operation(method, path)["requestBody"]!["content"]!["application/json"]!["schema"]!).AsObject();

    /// <summary>Follows <c>$ref</c> (local JSON pointers only) until it reaches a node without one.</summary>
    public JsonNode Resolve(JsonNode node)
    {
        while (node is JsonObject { } obj && obj["$ref"] is JsonValue reference)
        {
            var pointer = reference.GetValue<string>();
            if (!pointer.StartsWith("#/", StringComparison.Ordinal))
                throw new NotSupportedException($"only local references are read: {pointer}");
            node = root;
            foreach (var part in pointer[2..].Split('/'))
                node = node[part.Replace("~1", "/").Replace("~0", "~")] ?? throw new KeyNotFoundException($"{pointer} does not resolve");
        }

        return node;
    }

    /// <summary>
    /// What in <paramref name="value"/> the schema does not describe: a type, const or enum it breaks, a required
    /// field it lacks, and any object member the schema does not name. The last is stricter than JSON Schema, on
    /// purpose: a reply field is documented only when it is named, so a schema that means "anything here" says so
    /// with <c>additionalProperties: true</c>.
    /// </summary>
    public IReadOnlyList<string> Undescribed(JsonNode? value, JsonNode schema, string at)
    {
        var problems = new List<string>();
        Check(value, schema, at, problems);
        return problems;
    }

    private void Check(JsonNode? value, JsonNode schema, string at, List<string> problems)
    {
        schema = Resolve(schema);
        if ((schema["oneOf"] ?? schema["anyOf"]) is { } alternatives)
        {
            var failures = alternatives.AsArray().Select(alternative => Undescribed(value, alternative!, at)).ToArray();
            if (failures.All(f => f.Count > 0))
                problems.Add($"{at} matches none of its alternatives: {string.Join(" | ", failures.Select(f => string.Join("; ", f)))}");
            return;
        }

        var kind = Kind(value);
        if (schema["type"] is { } type && !TypeNames(type).Any(t => t == kind || (t == "number" && kind == "integer")))
        {
            problems.Add($"{at} is {kind}, documented as {type.ToJsonString()}");
            return;
        }

        if (schema["const"] is { } constant && !JsonNode.DeepEquals(constant, value))
            problems.Add($"{at} is {value?.ToJsonString() ?? "null"}, documented as the constant {constant.ToJsonString()}");
        if (schema["enum"] is JsonArray values && !values.Any(v => JsonNode.DeepEquals(v, value)))
            problems.Add($"{at} is {value?.ToJsonString() ?? "null"}, not one of {values.ToJsonString()}");

        switch (value)
        {
            case JsonObject obj:
                var properties = schema["properties"]?.AsObject();
                var additional = schema["additionalProperties"];
                foreach (var (name, member) in obj)
                {
                    if (properties?[name] is { } property)
                        Check(member, property, $"{at}.{name}", problems);
                    else if (additional is JsonObject additionalSchema)
                        Check(member, additionalSchema, $"{at}.{name}", problems);
                    else if (additional?.GetValueKind() != System.Text.Json.JsonValueKind.True)
                        problems.Add($"{at}.{name} is not in the schema");
                }

                foreach (var required in schema["required"]?.AsArray() ?? [])
                {
                    if (!obj.ContainsKey(required!.GetValue<string>()))
                        problems.Add($"{at}.{required} is required by the schema and missing");
                }

                break;
            case JsonArray array when schema["items"] is { } items:
                for (var i = 0; i < array.Count; i++)
                    Check(array[i], items, $"{at}[{i}]", problems);
                break;
            case JsonArray array when array.Count > 0:
                problems.Add($"{at} is an array whose schema has no items");
                break;
        }
    }

    private static IEnumerable<string> TypeNames(JsonNode type) =>
        type is JsonArray names ? names.Select(n => n!.GetValue<string>()) : [type.GetValue<string>()];

    private static string Kind(JsonNode? value) => value?.GetValueKind() switch
    {
        null or System.Text.Json.JsonValueKind.Null => "null",
        System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => "boolean",
        System.Text.Json.JsonValueKind.Number => value.GetValue<double>() % 1 == 0 ? "integer" : "number",
        System.Text.Json.JsonValueKind.String => "string",
        System.Text.Json.JsonValueKind.Array => "array",
        _ => "object",
    };

    /// <summary>The document exactly as GET /openapi.json serves it: the resource embedded in the API assembly.</summary>
    private static OpenApiDocument Load()
    {
        using var stream = typeof(RerankRoutes).Assembly.GetManifestResourceStream("FuncRerank.Api.openapi.json")
                           ?? throw new InvalidOperationException("openapi.json is not embedded");
        return new OpenApiDocument(JsonNode.Parse(stream)!);
    }
}

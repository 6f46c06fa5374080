namespace FuncRerank.Model.Hub;

/// <summary>What the Hub says about one file of a commit: the blob name, its size, and where its bytes come from.</summary>
/// <param name="IsLfs">The etag came from <c>X-Linked-Etag</c>, so it is the content's SHA-256 and can be checked.</param>
internal sealed record HubFile(string Name, string Etag, long Size, bool IsLfs, Uri DownloadUri);

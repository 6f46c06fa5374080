namespace FuncRerank.Model.Hub;

/// <summary>One file's download so far; reported every few hundred kilobytes and when the file is complete.</summary>
public sealed record DownloadProgress(string File, long BytesDone, long BytesTotal);

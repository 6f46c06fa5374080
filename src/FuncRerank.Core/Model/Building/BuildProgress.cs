namespace FuncRerank.Model.Building;

/// <summary>How far a build is: its stage ("weights", then "done") and the checkpoint bytes written so far of the total.</summary>
public sealed record BuildProgress(string Stage, long BytesDone, long BytesTotal);

namespace FuncRerank.Api.Hosting;

public enum RerankerStatus
{
    Loading,
    Ready,
    Failed,
}
